"""Hands tasks to Celery, or, in the embedded mode, to a thread pool inside this process.

Both paths run the same Celery task code; the embedded one calls `Task.apply` on a
worker thread so a request never waits for the work it queued.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

from celery import Celery, Task, beat
from django.conf import settings
from django.db import close_old_connections

logger = logging.getLogger(__name__)

# The embedded mode's workers: threads start on first use, so other modes never run one.
_POOL = ThreadPoolExecutor(max_workers=settings.EMBEDDED_WORKER_THREADS, thread_name_prefix="embedded-worker")
_scheduler_lock = threading.Lock()
_scheduler_started = False


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
        _POOL.submit(_run_embedded, task, args, kwargs)
    else:
        task.apply_async(args=args, kwargs=kwargs)


class EmbeddedScheduler(beat.Scheduler):
    """Celery beat's scheduler, handing due tasks to `submit` instead of the broker.

    The embedded mode has no worker reading the broker, so the entries of the one schedule
    (CELERY_BEAT_SCHEDULE) run on the embedded pool; timing is Celery's own.
    """

    # Beat would otherwise connect a producer to the broker for every tick.
    producer = None
    # Celery's, missing from its type stubs.
    app: Celery
    reserve: Callable[[Any], Any]

    def apply_async(self, entry: Any, producer: Any = None, advance: bool = True, **kwargs: Any) -> None:
        entry = self.reserve(entry) if advance else entry
        submit(self.app.tasks[entry.task], *entry.args, **entry.kwargs)


def start_embedded_scheduler(app: Celery) -> None:
    """The embedded mode's `celery beat`: `app`'s schedule, on a daemon thread (idempotent).

    The Celery app is passed in by the process's entry point (config/): jobs sits below it.
    """
    global _scheduler_started
    with _scheduler_lock:
        if _scheduler_started:
            return
        _scheduler_started = True

    # A worker imports every app's tasks module at start; this process must do the same.
    app.loader.import_default_modules()
    # Celery's beat service itself (its stubs omit the constructor). No schedule file: the
    # in-memory schedule starts afresh with the process, like the pool.
    service = cast(Any, beat.Service)(app, scheduler_cls=EmbeddedScheduler)
    threading.Thread(target=service.start, name="embedded-beat", daemon=True).start()
