from __future__ import annotations

from django.apps import AppConfig


class ValuationsConfig(AppConfig):
    name = "valuations"
    verbose_name = "Valuations"
