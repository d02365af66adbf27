"""The Celery application; tasks are discovered in every installed app."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("dealstream")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _forget_inherited_connection_pools(**_: Any) -> None:
    """A forked worker process must open its own database connections, never its parent's."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        from django.db.backends.postgresql.base import DatabaseWrapper

        DatabaseWrapper._connection_pools.clear()  # type: ignore[attr-defined]
