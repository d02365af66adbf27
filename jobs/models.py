"""A job: one asynchronous unit of work (a statement, a batch document, a valuation)."""

from __future__ import annotations

import datetime
from typing import Any

from django.db import models
from django.utils import timezone
from ulid import ULID

from events.publish import publish_event


def new_job_id() -> str:
    return f"job_{ULID()}"


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    STARTED = "started", "Started"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELED = "canceled", "Canceled"


TERMINAL_STATUSES = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELED})


def month_start(now: datetime.datetime | None = None) -> datetime.datetime:
    """Midnight UTC on the first day of `now`'s month: where the usage count starts."""
    now = (now or timezone.now()).astimezone(datetime.UTC)
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


class JobQuerySet(models.QuerySet["Job"]):
    def billable_this_month(self, organization_id: int, now: datetime.datetime | None = None) -> JobQuerySet:
        """Billable jobs created since the start of the current calendar month (UTC)."""
        return self.filter(organization_id=organization_id, billable=True, created_at__gte=month_start(now))

    def owned_by(self, job: Job) -> JobQuerySet:
        """The job row, if still held by the run that claimed it as `job.attempts`.

        The attempt number is a fencing token: once the reaper requeues a job and another
        worker claims it, the old run's updates match nothing and it stops.
        """
        return self.filter(pk=job.pk, status=JobStatus.STARTED, attempts=job.attempts)


class Job(models.Model):
    id = models.CharField(primary_key=True, max_length=40, default=new_job_id, editable=False)
    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="jobs")
    type = models.CharField(max_length=32)
    status = models.CharField(
        max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True
    )
    progress = models.FloatField(default=0.0)
    message = models.CharField(max_length=300, blank=True, default="")
    input = models.JSONField(default=dict, blank=True)
    results = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    billable = models.BooleanField(default=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    request_id = models.CharField(max_length=128, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Last sign of life: set when the job is (re)queued, then touched by its worker's heartbeat
    # while it runs. The reaper treats a silent job as orphaned (see jobs/services.py).
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # The outbox: set while the job's task message is owed to the broker, cleared once the
    # broker took it or a worker claimed the job (jobs/dispatch.py).
    dispatch_due_at = models.DateTimeField(null=True, blank=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["organization", "-created_at"]),
            models.Index(
                fields=["dispatch_due_at"],
                name="jobs_job_dispatch_owed",
                condition=models.Q(dispatch_due_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.id} ({self.type}, {self.status})"

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    def publish(self, event_type: str, **data: Any) -> None:
        """Store and fan out one of the job's events (`job_id` plus `data`), under the id of the
        request that queued it."""
        publish_event(
            self.organization_id, event_type, {"job_id": self.pk, **data}, request_id=self.request_id
        )
