from __future__ import annotations

from django.apps import AppConfig


class DealsConfig(AppConfig):
    name = "deals"
    verbose_name = "Deals"

    def ready(self) -> None:
        # The deal and batch feeds are kinds of event feed this app owns.
        from deals import feeds

        feeds.register()
