"""Periodic job housekeeping (the job types' own tasks live in their apps' `tasks` modules)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from celery import shared_task

from jobs import dispatch, services


@shared_task(name="jobs.tasks.reap_stale_jobs", ignore_result=True)
def reap_stale_jobs() -> dict[str, Any]:
    """Requeue or fail started jobs whose worker stopped responding; resubmit lost queued ones."""
    return asdict(services.reap_stale_jobs())


@shared_task(name="jobs.tasks.dispatch_owed_jobs", ignore_result=True)
def dispatch_owed_jobs() -> dict[str, Any]:
    """Send the messages of queued jobs whose sending process failed or died (jobs/dispatch.py)."""
    return dispatch.dispatch_owed_jobs().as_dict()
