"""Job lifecycle outside a run: create (within the monthly quota), send, cancel, reap.

A run itself (claim, heartbeat, stage boundaries, the terminal transition) is the job
handle's (jobs/handle.py); the types are Celery tasks (jobs/job_task.py). Each transition
publishes the job's events: `status`, `progress`, then one of `completed`/`failed`/`canceled`,
then `usage` for a billable job. Lock order: see jobs/handle.py.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import Organization
from core.context import request_id_var
from core.errors import Conflict, QuotaExceeded
from jobs.dispatch import send_after_commit
from jobs.handle import MAX_ATTEMPTS, JobRun
from jobs.job_task import task_for
from jobs.models import Job, JobStatus

logger = logging.getLogger(__name__)

# A started job silent for this long lost its worker (SIGKILL, OOM, machine gone): six
# missed heartbeats. With the reaper every 10 s (CELERY_BEAT_SCHEDULE) such a job runs
# again within 40 s of its worker's death. The reaper is the only thing that recovers a
# started job: a Celery message redelivered after a lost worker finds the job started and
# does nothing (docs/jobs.md, "Lost workers").
STALE_AFTER = datetime.timedelta(seconds=30)
# A queued job whose message may have been lost (the embedded runner's in-memory queue
# dies with its process, a broker restart without persistence) is handed to the runner
# again after this long. Claims are atomic, so a duplicate message is harmless: it finds
# the job already taken and stops.
RESUBMIT_QUEUED_AFTER = datetime.timedelta(minutes=10)
# Rows the reaper looks at per run; the next run, 10 s later, takes the rest.
REAP_BATCH = 200


# --- creating ----------------------------------------------------------------------------


def check_quota(organization: Organization, count: int, now: datetime.datetime | None = None) -> None:
    """Raise QuotaExceeded (402) unless `count` more billable jobs fit in this month's limit.

    On its own it is an early answer for the caller (before storing uploads, say); the
    binding check is the one `create_jobs` makes with the organisation row locked.
    """
    used = Job.objects.billable_this_month(organization.pk, now).count()
    if used + count > organization.job_limit:
        remaining = max(0, organization.job_limit - used)
        raise QuotaExceeded(
            f"This organisation has used {used} of its {organization.job_limit} jobs this month; "
            f"{count} more requested, {remaining} left."
        )


def create_jobs(
    organization: Organization,
    job_type: str,
    inputs: Sequence[dict[str, Any]],
    *,
    request_id: str = "",
    submit: bool = True,
) -> list[Job]:
    """Create one queued job per input, all within the monthly quota or none (402).

    The organisation row is locked while counting, so two concurrent requests cannot both
    take the last slot. The jobs' tasks are sent when the caller's transaction commits
    (pass `submit=False` to do it later with `submit_job`, once the job's resource exists),
    through the outbox (jobs/dispatch.py): a broker outage leaves them queued, never lost.
    """
    task = task_for(job_type)
    if task is None:
        raise ValueError(f"Unknown job type {job_type!r}")
    now = timezone.now()
    with transaction.atomic():
        if task.billable:
            org = Organization.objects.select_for_update(no_key=True).get(pk=organization.pk)
            check_quota(org, len(inputs), now)
        jobs = [
            Job(
                organization=organization,
                type=job_type,
                input=dict(item),
                billable=task.billable,
                request_id=request_id,
                heartbeat_at=now,
                dispatch_due_at=now if submit else None,
            )
            for item in inputs
        ]
        Job.objects.bulk_create(jobs)
        for job in jobs:
            job.publish("status", status=job.status)
            if submit:
                send_after_commit(task, job.pk, now)
    return jobs


def create_job(organization: Organization, job_type: str, job_input: dict[str, Any], **options: Any) -> Job:
    """One job; see `create_jobs`."""
    return create_jobs(organization, job_type, [job_input], **options)[0]


def submit_job(job: Job) -> None:
    """Owe the job's message and send it once the current transaction commits (jobs/dispatch.py)."""
    if not _owe_message(job):
        raise ValueError(f"Unknown job type {job.type!r}")


def _owe_message(job: Job) -> bool:
    task = task_for(job.type)
    if task is None:
        logger.error("Job %s has the unknown type %r; it cannot be run", job.pk, job.type)
        return False
    due_at = timezone.now()
    Job.objects.filter(pk=job.pk).update(dispatch_due_at=due_at)
    send_after_commit(task, job.pk, due_at)
    return True


# --- cancelling --------------------------------------------------------------------------


def request_cancel(organization: Organization, job_id: str) -> Job:
    """Ask a queued or running job to stop at its next stage boundary; 409 once it has ended."""
    with transaction.atomic():
        job = Job.objects.select_for_update(no_key=True).get(organization=organization, pk=job_id)
        if job.is_terminal:
            raise Conflict(f"The job has already ended ({job.status}).", "job_finished")
        if not job.cancel_requested:
            job.cancel_requested = True
            job.message = "Cancellation requested"
            job.save(update_fields=["cancel_requested", "message"])
    return job


# --- reaping -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReapReport:
    requeued: list[str]
    failed: list[str]
    resubmitted: list[str]


def reap_stale_jobs() -> ReapReport:
    """Recover jobs whose worker died: requeue them (under MAX_ATTEMPTS claims) or fail them.

    Also hands queued jobs silent for RESUBMIT_QUEUED_AFTER to the runner again, in case their
    message was lost. Runs every 10 s (CELERY_BEAT_SCHEDULE, or the embedded scheduler).
    """
    now = timezone.now()
    cutoff = now - STALE_AFTER
    report = ReapReport([], [], [])
    stale = Job.objects.filter(status=JobStatus.STARTED).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
    )
    for job_id in list(stale.order_by("heartbeat_at").values_list("pk", flat=True)[:REAP_BATCH]):
        outcome = _reap_one(stale.filter(pk=job_id), now)
        if outcome == "requeued":
            report.requeued.append(job_id)
        elif outcome == "failed":
            report.failed.append(job_id)

    resubmit_cutoff = now - RESUBMIT_QUEUED_AFTER
    queued = Job.objects.filter(status=JobStatus.QUEUED).filter(
        Q(heartbeat_at__lt=resubmit_cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=resubmit_cutoff)
    )
    for job in list(queued.order_by("created_at")[:REAP_BATCH]):
        with transaction.atomic():
            # Conditional on the row being unchanged, so two reapers resubmit it once.
            touched = Job.objects.filter(
                pk=job.pk, status=JobStatus.QUEUED, heartbeat_at=job.heartbeat_at
            ).update(heartbeat_at=now)
            if touched and _owe_message(job):
                report.resubmitted.append(job.pk)
    if report.requeued or report.failed or report.resubmitted:
        logger.warning("Reaper: %s", asdict(report))
    return report


def _reap_one(stale: QuerySet[Job], now: datetime.datetime) -> str | None:
    """Requeue or fail the job `stale` holds, if it is still stale once locked."""
    with transaction.atomic():
        # skip_locked: a worker in the middle of a transaction on this job is alive after all.
        job = stale.select_for_update(no_key=True, skip_locked=True).first()
        if job is None:
            return None
        if job.attempts < MAX_ATTEMPTS:
            job.status = JobStatus.QUEUED
            job.heartbeat_at = now
            job.message = (
                f"Requeued after its worker stopped responding (attempt {job.attempts} of {MAX_ATTEMPTS})"
            )
            job.save(update_fields=["status", "heartbeat_at", "message"])
            job.publish("status", status=job.status)
            _owe_message(job)
            return "requeued"
        reason = (
            f"The worker running this job stopped responding {job.attempts} times; it was not retried again."
        )
        task = task_for(job.type)
        token = request_id_var.set(job.request_id or None)
        try:
            # The reaper ends the job in the dead run's place: the same handle, the same fence.
            run = JobRun(job)
            if task is not None:
                task.abandon(run, reason)
            else:
                run.fail(reason)
        finally:
            request_id_var.reset(token)
        return "failed"
