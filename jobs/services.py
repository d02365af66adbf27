"""Job lifecycle: create (within the monthly quota), claim, checkpoint, finish, cancel, reap; and usage.

Every transition is guarded by the state it leaves (`queued` for a claim, `started` with the
claim's attempt number for everything after), so a redelivered message, or the old worker of
a job the reaper handed to someone else, can never move a job twice. Each transition
publishes the job's events: `status`, `progress`, then one of `completed`/`failed`/`canceled`,
then `usage` for a billable job.

Job types: an app registers each type it runs, from its `tasks` module, with
`register_job_type(JobType(name, task, ...))`. The task receives the job id only. A type
with an `input_serializer` can be created by `POST /api/v1/jobs {"type", "input"}`.

Lock order, to stay clear of deadlocks: job row, then the rows of the job's resource (for a
statement: deal, statement, batch), then the organisation row, and only then publish events
(publishing holds the organisation's event-sequence row until commit). Rows are locked
`FOR NO KEY UPDATE` so that inserting an event, whose foreign-key check takes `FOR KEY SHARE`
on the organisation, never waits on a lock held by another publisher (docs/architecture.md).
"""

from __future__ import annotations

import datetime
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

from celery import Task
from django.db import DatabaseError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules
from rest_framework import serializers

from accounts.models import Organization
from api.errors import Conflict, QuotaExceeded
from api.logging import request_id_var
from events.publish import publish_event
from jobs.dispatch import send_after_commit
from jobs.models import Job, JobStatus

logger = logging.getLogger(__name__)

# Claims of one job before the reaper gives up on it (first run plus retries after lost workers).
MAX_ATTEMPTS = 3
# A running job's worker touches `heartbeat_at` this often, from a side thread, so a long
# stage (a 300-page PDF) is never mistaken for a dead worker.
HEARTBEAT_INTERVAL = datetime.timedelta(seconds=5)
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


class JobLost(Exception):
    """This run no longer owns its job: it was finished, or reaped and claimed by another run."""


class JobCanceled(Exception):
    """Cancellation was requested; raised at a stage boundary so the work stops there."""


# --- job types ---------------------------------------------------------------------------


@dataclass(frozen=True)
class JobType:
    """How to run one kind of job.

    `task` is a Celery task called with the job id. `input_serializer`, when set, validates
    the `input` of `POST /api/v1/jobs` (types without one are created by their own
    endpoints). `on_abandoned(job, reason)` is called by the reaper, inside its transaction
    with the job row locked, for a job whose workers kept dying; it must end the job through
    `fail_job` and settle whatever the job was working on. Without it the job is just failed.
    """

    name: str
    task: Task
    billable: bool = True
    input_serializer: type[serializers.Serializer[Any]] | None = None
    on_abandoned: Callable[[Job, str], None] | None = None


_job_types: dict[str, JobType] = {}
_discovered = False
_discover_lock = threading.Lock()


def register_job_type(job_type: JobType) -> None:
    """Make a job type known; call it from the app's `tasks` module, next to the task."""
    _job_types[job_type.name] = job_type


def _discover() -> None:
    global _discovered
    if not _discovered:
        with _discover_lock:
            if not _discovered:
                autodiscover_modules("tasks")
                _discovered = True


def get_job_type(name: str) -> JobType | None:
    """The registered type called `name`, importing every app's `tasks` module the first time."""
    _discover()
    return _job_types.get(name)


def job_types() -> dict[str, JobType]:
    """Every registered job type, by name."""
    _discover()
    return dict(_job_types)


def creatable_job_types() -> list[str]:
    """Names of the types `POST /jobs` accepts (those with an input serializer), sorted."""
    return sorted(name for name, kind in job_types().items() if kind.input_serializer)


# --- usage -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Usage:
    monthly_used: int
    monthly_limit: int
    monthly_remaining: int
    subscription_tier: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def usage_for(organization: Organization) -> Usage:
    """The organisation's billable jobs this calendar month against its limit."""
    used = Job.objects.billable_this_month(organization.pk).count()
    limit = organization.job_limit
    return Usage(used, limit, max(0, limit - used), organization.subscription_tier)


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
    billable: bool | None = None,
    request_id: str = "",
    submit: bool = True,
) -> list[Job]:
    """Create one queued job per input, all within the monthly quota or none (402).

    The organisation row is locked while counting, so two concurrent requests cannot both
    take the last slot. The jobs' tasks are sent when the caller's transaction commits
    (pass `submit=False` to do it later with `submit_job`, once the job's resource exists),
    through the outbox (jobs/dispatch.py): a broker outage leaves them queued, never lost.
    """
    kind = get_job_type(job_type)
    if kind is None:
        raise ValueError(f"Unknown job type {job_type!r}")
    billable = kind.billable if billable is None else billable
    now = timezone.now()
    with transaction.atomic():
        if billable:
            org = Organization.objects.select_for_update(no_key=True).get(pk=organization.pk)
            check_quota(org, len(inputs), now)
        jobs = [
            Job(
                organization=organization,
                type=job_type,
                input=dict(item),
                billable=billable,
                request_id=request_id,
                heartbeat_at=now,
                dispatch_due_at=now if submit else None,
            )
            for item in inputs
        ]
        Job.objects.bulk_create(jobs)
        for job in jobs:
            publish_event(organization.pk, "status", job.event_data(status=job.status), request_id=request_id)
            if submit:
                send_after_commit(kind.task, job.pk, now)
    return jobs


def create_job(organization: Organization, job_type: str, job_input: dict[str, Any], **options: Any) -> Job:
    """One job; see `create_jobs`."""
    return create_jobs(organization, job_type, [job_input], **options)[0]


def submit_job(job: Job) -> None:
    """Owe the job's message and send it once the current transaction commits (jobs/dispatch.py)."""
    kind = get_job_type(job.type)
    if kind is None:
        raise ValueError(f"Unknown job type {job.type!r}")
    _owe_message(kind, job.pk)


def _owe_message(kind: JobType, job_id: str) -> None:
    due_at = timezone.now()
    Job.objects.filter(pk=job_id).update(dispatch_due_at=due_at)
    send_after_commit(kind.task, job_id, due_at)


# --- running -----------------------------------------------------------------------------


def claim_job(job_id: str) -> Job | None:
    """Take a queued job for this run, or None when it is not queued (already taken or done).

    The row lock plus the `queued` filter is what makes a redelivered message harmless.
    """
    with transaction.atomic():
        job = Job.objects.select_for_update(no_key=True).filter(pk=job_id, status=JobStatus.QUEUED).first()
        if job is None:
            return None
        now = timezone.now()
        job.status = JobStatus.STARTED
        job.attempts += 1
        job.started_at = job.started_at or now
        job.heartbeat_at = now
        job.dispatch_due_at = None  # whatever message brought us here, the debt is paid
        job.save(update_fields=["status", "attempts", "started_at", "heartbeat_at", "dispatch_due_at"])
        # A job canceled while queued ends without ever being reported as started.
        if not job.cancel_requested:
            publish_event(
                job.organization_id, "status", job.event_data(status=job.status), request_id=job.request_id
            )
    return job


def lock_owned(job: Job) -> Job:
    """Lock and return the job's current row, if this run still owns it; call inside a transaction."""
    current = Job.objects.select_for_update(no_key=True).owned_by(job).first()
    if current is None:
        raise JobLost(job.pk)
    return current


def checkpoint(job: Job) -> Job:
    """A stage boundary: lock the job, stop if cancellation was requested, beat the heartbeat.

    Call inside a transaction; raises JobCanceled or JobLost. Returns the locked current row.
    """
    current = lock_owned(job)
    if current.cancel_requested:
        raise JobCanceled(job.pk)
    current.heartbeat_at = timezone.now()
    return current


def record_progress(job: Job, progress: float, message: str) -> None:
    """Store the job's progress (0-1) and message and publish `progress`; call after `checkpoint`."""
    job.progress = progress
    job.message = message[:300]
    job.save(update_fields=["progress", "message", "heartbeat_at"])
    publish_event(
        job.organization_id,
        "progress",
        job.event_data(progress=progress, message=job.message),
        request_id=job.request_id,
    )


def _finish(job: Job, status: str, event_data: dict[str, Any], **fields: Any) -> Job:
    # Atomic on its own too: the terminal state, its event and `usage` commit together.
    with transaction.atomic():
        current = lock_owned(job)
        current.status = status
        current.finished_at = timezone.now()
        update_fields = ["status", "finished_at"]
        for name, value in fields.items():
            setattr(current, name, value)
            update_fields.append(name)
        current.save(update_fields=update_fields)
        publish_event(
            current.organization_id,
            status,
            current.event_data(status=status, **event_data),
            request_id=current.request_id,
        )
        if current.billable:
            # After the terminal event, exactly once: it is what closes a billable job's feed.
            usage = usage_for(current.organization)
            publish_event(
                current.organization_id,
                "usage",
                current.event_data(**usage.as_dict(), was_billable=True),
                request_id=current.request_id,
            )
    return current


def complete_job(job: Job, results: dict[str, Any]) -> Job:
    """End an owned job successfully (raises JobLost); inside the caller's transaction if any."""
    return _finish(
        job, JobStatus.COMPLETED, {"results": results}, results=results, progress=1.0, message="Completed"
    )


def fail_job(job: Job, error: str) -> Job:
    """End an owned job with an error shown to the user (raises JobLost)."""
    return _finish(job, JobStatus.FAILED, {"error": error}, error=error, message="Failed")


def cancel_job(job: Job) -> Job:
    """End an owned job whose cancellation was requested (raises JobLost)."""
    return _finish(job, JobStatus.CANCELED, {}, message="Canceled")


def release_job(job: Job, reason: str) -> bool:
    """Give an owned job back to the queue (its run hit a transient error and will be retried)."""
    with transaction.atomic():
        updated = Job.objects.owned_by(job).update(
            status=JobStatus.QUEUED, heartbeat_at=timezone.now(), message=reason[:300]
        )
        if updated:
            publish_event(
                job.organization_id,
                "status",
                job.event_data(status=JobStatus.QUEUED),
                request_id=job.request_id,
            )
    return bool(updated)


class Heartbeat:
    """Touches the job's `heartbeat_at` every `interval` from a side thread while work runs."""

    def __init__(self, job: Job, interval: datetime.timedelta = HEARTBEAT_INTERVAL) -> None:
        self.job = job
        self.interval = interval.total_seconds()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{job.pk}", daemon=True)

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                try:
                    Job.objects.owned_by(self.job).update(heartbeat_at=timezone.now())
                except DatabaseError:
                    logger.warning("Heartbeat of %s failed", self.job.pk, exc_info=True)
        finally:
            # The thread's own connection would otherwise stay open until the process exits.
            connection.close()

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


TRANSIENT_DB_ERRORS: tuple[type[Exception], ...] = (DatabaseError,)


@contextmanager
def running(job_id: str) -> Iterator[Job | None]:
    """Claim the job and keep its heartbeat going while the body runs.

    Yields None when there is nothing to do (the job is not queued). A database error
    escaping the body gives the job back to the queue before it propagates, so the task's
    retry can claim it again; if even that fails, the reaper recovers the job.
    """
    job = claim_job(job_id)
    if job is None:
        logger.info("Job %s is not queued; nothing to do", job_id)
        yield None
        return
    # Events and log lines of the work carry the id of the request that queued it.
    token = request_id_var.set(job.request_id or None)
    try:
        with Heartbeat(job):
            yield job
    except TRANSIENT_DB_ERRORS:
        if not connection.in_atomic_block:
            # The error most often means the connection died (a terminated backend, a
            # database restart): release on a new one, or the job waits for the reaper.
            connection.close()
        try:
            release_job(job, "Retrying after a database error")
        except Exception:
            logger.warning("Could not release %s; the reaper will requeue it", job_id, exc_info=True)
        raise
    finally:
        request_id_var.reset(token)


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

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def reap_stale_jobs(
    *,
    now: datetime.datetime | None = None,
    stale_after: datetime.timedelta = STALE_AFTER,
    resubmit_after: datetime.timedelta = RESUBMIT_QUEUED_AFTER,
) -> ReapReport:
    """Recover jobs whose worker died: requeue them (under MAX_ATTEMPTS claims) or fail them.

    Also hands queued jobs silent for `resubmit_after` to the runner again, in case their
    message was lost. Runs every 10 s (CELERY_BEAT_SCHEDULE, or the embedded scheduler).
    """
    now = now or timezone.now()
    cutoff = now - stale_after
    report = ReapReport([], [], [])
    stale = Job.objects.filter(status=JobStatus.STARTED).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
    )
    for job_id in list(stale.order_by("heartbeat_at").values_list("pk", flat=True)[:REAP_BATCH]):
        outcome = _reap_one(job_id, cutoff, now)
        if outcome == "requeued":
            report.requeued.append(job_id)
        elif outcome == "failed":
            report.failed.append(job_id)

    resubmit_cutoff = now - resubmit_after
    queued = Job.objects.filter(status=JobStatus.QUEUED).filter(
        Q(heartbeat_at__lt=resubmit_cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=resubmit_cutoff)
    )
    for job in list(queued.order_by("created_at")[:REAP_BATCH]):
        with transaction.atomic():
            # Conditional on the row being unchanged, so two reapers resubmit it once.
            touched = Job.objects.filter(
                pk=job.pk, status=JobStatus.QUEUED, heartbeat_at=job.heartbeat_at
            ).update(heartbeat_at=now)
            if touched and _submit_if_known(job):
                report.resubmitted.append(job.pk)
    if report.requeued or report.failed or report.resubmitted:
        logger.warning("Reaper: %s", report.as_dict())
    return report


def _submit_if_known(job: Job) -> bool:
    kind = get_job_type(job.type)
    if kind is None:
        logger.error("Job %s has the unknown type %r; it cannot be run", job.pk, job.type)
        return False
    _owe_message(kind, job.pk)
    return True


def _reap_one(job_id: str, cutoff: datetime.datetime, now: datetime.datetime) -> str | None:
    with transaction.atomic():
        # skip_locked: a worker in the middle of a transaction on this job is alive after all.
        job = (
            Job.objects.select_for_update(no_key=True, skip_locked=True)
            .filter(pk=job_id, status=JobStatus.STARTED)
            .filter(Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff))
            .first()
        )
        if job is None:
            return None
        if job.attempts < MAX_ATTEMPTS:
            job.status = JobStatus.QUEUED
            job.heartbeat_at = now
            job.message = (
                f"Requeued after its worker stopped responding (attempt {job.attempts} of {MAX_ATTEMPTS})"
            )
            job.save(update_fields=["status", "heartbeat_at", "message"])
            publish_event(
                job.organization_id, "status", job.event_data(status=job.status), request_id=job.request_id
            )
            _submit_if_known(job)
            return "requeued"
        reason = (
            f"The worker running this job stopped responding {job.attempts} times; it was not retried again."
        )
        kind = get_job_type(job.type)
        token = request_id_var.set(job.request_id or None)
        try:
            if kind is not None and kind.on_abandoned is not None:
                kind.on_abandoned(job, reason)
            else:
                fail_job(job, reason)
        finally:
            request_id_var.reset(token)
        return "failed"
