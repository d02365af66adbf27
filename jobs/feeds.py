"""The job feed, as a kind the event feeds resolve (registered in `JobsConfig.ready`)."""

from __future__ import annotations

from typing import Any

from events.catalogue import JOB, JOB_TERMINAL_EVENTS
from events.feeds import register_feed_kind
from jobs.models import TERMINAL_STATUSES, Job

# A billable job's feed ends with the `usage` event that follows its terminal event.
BILLABLE_JOB_TERMINAL_EVENTS = frozenset({"usage"})


def job_feed(organization_id: int, job_id: Any) -> frozenset[str] | None:
    """The events after which a job's feed closes; None when the job is not in the organisation."""
    job = Job.objects.filter(organization_id=organization_id, pk=job_id).only("billable").first()
    if job is None:
        return None
    return BILLABLE_JOB_TERMINAL_EVENTS if job.billable else JOB_TERMINAL_EVENTS


def job_has_ended(job_id: Any) -> bool:
    return Job.objects.filter(pk=job_id, status__in=TERMINAL_STATUSES).exists()


def register() -> None:
    register_feed_kind(JOB, job_feed, has_ended=job_has_ended)
