"""The embedded mode runs Celery beat's scheduler over CELERY_BEAT_SCHEDULE, on its own pool."""

from __future__ import annotations

import datetime
from typing import Any, cast

import pytest
from celery import current_app
from django.utils import timezone

from jobs import services
from jobs.handle import claim_job
from jobs.models import Job, JobStatus
from jobs.runner import EmbeddedScheduler

pytestmark = pytest.mark.django_db


def new_scheduler() -> Any:
    # Celery's type stubs leave out the scheduler's constructor and most of its methods.
    return cast(Any, EmbeddedScheduler)(app=current_app)


def test_it_schedules_exactly_the_celery_beat_schedule(settings):
    scheduler = new_scheduler()
    assert set(scheduler.schedule) == set(settings.CELERY_BEAT_SCHEDULE)
    assert {e.task for e in scheduler.schedule.values()} == {
        entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }


def test_a_due_entry_runs_in_this_process(settings, org):
    settings.JOB_RUNNER = "inline"  # what `submit` does with it: run it here, now
    job = services.create_job(org, "statement", {}, submit=False)
    assert claim_job(job.pk) is not None
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - datetime.timedelta(minutes=5))
    scheduler = new_scheduler()
    for entry in scheduler.schedule.values():
        entry.last_run_at -= datetime.timedelta(hours=2)  # every entry is due
    while scheduler.tick() == 0:  # one due entry per tick, 0 while more are due
        pass
    # The reaper ran: the silent job went back to the queue.
    assert Job.objects.get(pk=job.pk).status == JobStatus.QUEUED
