"""Hands tasks to Celery, or, in the embedded mode, to a thread pool inside this process.

Both paths run the same Celery task code; the embedded one calls `Task.apply` on a
worker thread so a request never waits for the work it queued.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from celery import Task
from django.conf import settings
from django.db import close_old_connections

logger = logging.getLogger(__name__)

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_scheduler_started = False


def _embedded_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=settings.EMBEDDED_WORKER_THREADS, thread_name_prefix="embedded-worker"
            )
        return _pool


def _run_embedded(task: Task, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    try:
        result = task.apply(args=args, kwargs=kwargs)
        if result.failed():
            logger.error("Embedded task %s failed: %r", task.name, result.result)
    finally:
        # Worker threads outlive requests, so nothing else closes their connections.
        close_old_connections()


def submit(task: Task, *args: Any, **kwargs: Any) -> None:
    """Run `task` now, in the background: on the broker, or on the embedded pool.

    The "inline" runner (tests only) runs it synchronously in the caller's thread.
    """
    if settings.JOB_RUNNER == "inline":
        task.apply(args=args, kwargs=kwargs)
    elif settings.JOB_RUNNER == "embedded":
        _embedded_pool().submit(_run_embedded, task, args, kwargs)
    else:
        task.apply_async(args=args, kwargs=kwargs)


def _scheduler_loop() -> None:
    from config.celery import app

    # A worker imports every app's tasks module at start; this process must do the same.
    app.loader.import_default_modules()
    schedule: dict[str, dict[str, Any]] = dict(getattr(settings, "CELERY_BEAT_SCHEDULE", {}))
    next_run = {name: time.monotonic() + float(entry["schedule"]) for name, entry in schedule.items()}
    while True:
        time.sleep(1.0)
        now = time.monotonic()
        for name, entry in schedule.items():
            if now < next_run[name]:
                continue
            next_run[name] = now + float(entry["schedule"])
            try:
                submit(app.tasks[entry["task"]])
            except Exception:
                logger.exception("Embedded scheduler could not run %s", name)


def start_embedded_scheduler() -> None:
    """The embedded mode's stand-in for `celery beat`: the same schedule, on a daemon thread."""
    global _scheduler_started
    with _pool_lock:
        if _scheduler_started:
            return
        _scheduler_started = True
    threading.Thread(target=_scheduler_loop, name="embedded-beat", daemon=True).start()
