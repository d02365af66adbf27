"""The Celery application; tasks are discovered in every installed app."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from celery import Celery
from celery.signals import worker_init, worker_process_init, worker_process_shutdown, worker_ready
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# prometheus_client writes its multiprocess files there from the first metric it creates,
# which happens while Django sets up, before any worker signal: the directory must exist.
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)

app = Celery("dealstream")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _forget_inherited_connection_pools(**_: Any) -> None:
    """A forked worker process must open its own database connections, never its parent's."""
    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        from django.db.backends.postgresql.base import DatabaseWrapper

        DatabaseWrapper._connection_pools.clear()  # type: ignore[attr-defined]


@worker_init.connect
def _empty_metrics_directory(**_: Any) -> None:
    """Before the pool forks: a worker with WORKER_METRICS_PORT starts from empty metric files."""
    if settings.WORKER_METRICS_PORT:
        from api.worker_metrics import reset_multiproc_dir

        reset_multiproc_dir()


@worker_ready.connect
def _serve_worker_metrics(**_: Any) -> None:
    """The main process serves the pool's summed metrics (api/worker_metrics.py says why)."""
    if settings.WORKER_METRICS_PORT:
        from api.worker_metrics import serve

        serve(settings.WORKER_METRICS_PORT)


@worker_process_shutdown.connect
def _forget_pool_process(pid: int, **_: Any) -> None:
    if settings.WORKER_METRICS_PORT:
        from api.worker_metrics import forget_process

        forget_process(pid)
