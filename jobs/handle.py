"""The job handle: the one way a pipeline runs a job.

    with run_job(job_id) as run:            # claim, heartbeat, request id; None if nothing to do
        if run is None:
            return
        try:
            run.stage("parsing", 0.25)      # a boundary: stops here if canceled, else progress
            ...
            with run.transaction():         # the job row locked first, then the pipeline's rows
                ...                         # store results, publish the resource's own events
                run.complete(results)       # last: the terminal event, then `usage`
        except JobCanceled:
            run.cancel()
        except SomethingTheUserShouldSee as exc:
            run.fail(str(exc))

Every write of a run is fenced on the job being `started` with this run's attempt number, so
the old run of a job the reaper handed to another worker stops at its next write (`JobLost`,
which `run_job` swallows: the other run owns the job). A database error escaping the body
gives the job back to the queue (its message is owed again, after a short delay) while
attempts remain; the job's `attempts` is the one retry count (docs/jobs.md).

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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from core.context import request_id_var
from jobs.connections import drop_thread_connection, retry_on_lost_connection
from jobs.models import Job, JobStatus
from jobs.usage import usage_for

logger = logging.getLogger(__name__)

# Claims of one job in all (first run plus retries after lost workers or database errors).
MAX_ATTEMPTS = 3
# A running job's worker touches `heartbeat_at` this often, from a side thread, so a long
# stage (a 300-page PDF) is never mistaken for a dead worker.
HEARTBEAT_INTERVAL = datetime.timedelta(seconds=5)
# A job given back after a database error is sent again this long after, times its attempts,
# by the outbox's dispatcher (jobs/dispatch.py): a failover gets a moment to finish.
RETRY_DELAY = datetime.timedelta(seconds=2)


class JobLost(Exception):
    """This run no longer owns its job: it was finished, or reaped and claimed by another run."""


class JobCanceled(Exception):
    """Cancellation was requested; raised at a stage boundary so the work stops there."""


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
            job.publish("status", status=job.status)
    logger.info("Job %s claimed (attempt %d)", job.pk, job.attempts)
    return job


class JobRun:
    """One claimed run of a job: its stage boundaries and its end.

    `job` is the row as claimed; read its `input`, `organization_id`, `request_id` from it.
    Each method is atomic on its own and joins the caller's transaction when there is one.
    """

    def __init__(self, job: Job) -> None:
        self.job = job

    @contextmanager
    def transaction(self, *, stop_if_canceled: bool = True) -> Iterator[Job]:
        """One transaction with this run's job row locked before anything else (lock order).

        Raises JobLost when the run no longer owns the job, and JobCanceled when cancellation
        was requested (unless `stop_if_canceled=False`, for the paths that end the job).
        Yields the locked current row.
        """
        with transaction.atomic():
            current = Job.objects.select_for_update(no_key=True).owned_by(self.job).first()
            if current is None:
                raise JobLost(self.job.pk)
            if stop_if_canceled and current.cancel_requested:
                raise JobCanceled(self.job.pk)
            yield current

    def stage(self, name: str, progress: float, message: str = "") -> None:
        """A stage boundary: stop here if canceled, else store and publish `progress` (0-1).

        The message shown with the progress is `message`, or the stage's name.
        """
        with self.transaction() as current:
            current.heartbeat_at = timezone.now()
            current.progress = progress
            current.message = (message or name)[:300]
            current.save(update_fields=["progress", "message", "heartbeat_at"])
            current.publish("progress", progress=progress, message=current.message)

    def complete(self, results: dict[str, Any]) -> None:
        """End the job successfully: the last boundary, so a cancellation requested before it wins."""
        with self.transaction() as current:
            self._end(current, JobStatus.COMPLETED, {"results": results}, results=results, progress=1.0)

    def fail(self, reason: str) -> None:
        """End the job with a reason shown to the user."""
        with self.transaction(stop_if_canceled=False) as current:
            self._end(current, JobStatus.FAILED, {"error": reason}, error=reason)

    def cancel(self) -> None:
        """End the job whose cancellation was requested."""
        with self.transaction(stop_if_canceled=False) as current:
            self._end(current, JobStatus.CANCELED, {})

    def _end(self, current: Job, status: str, event_data: dict[str, Any], **fields: Any) -> None:
        current.status = status
        current.finished_at = timezone.now()
        current.message = str(status).capitalize()
        for name, value in fields.items():
            setattr(current, name, value)
        current.save(update_fields=["status", "finished_at", "message", *fields])
        self.job = current
        current.publish(status, status=status, **event_data)
        if current.billable:
            # After the terminal event, exactly once: it is what closes a billable job's feed.
            current.publish("usage", **asdict(usage_for(current.organization)), was_billable=True)

    def give_back(self, reason: str) -> bool:
        """Return the job to the queue, its message owed after RETRY_DELAY × attempts.

        Only while attempts remain; False when the run no longer owns the job or none remain
        (the reaper then ends it as abandoned once its heartbeat is stale).
        """
        if self.job.attempts >= MAX_ATTEMPTS:
            return False
        now = timezone.now()
        with transaction.atomic():
            updated = Job.objects.owned_by(self.job).update(
                status=JobStatus.QUEUED,
                heartbeat_at=now,
                message=reason[:300],
                dispatch_due_at=now + RETRY_DELAY * self.job.attempts,
            )
            if updated:
                self.job.publish("status", status=JobStatus.QUEUED)
        if updated:
            logger.warning("Job %s given back to the queue (%s)", self.job.pk, reason)
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
                    # Django never reconnects a connection this thread holds: without this,
                    # a terminated backend silences the heartbeat for the rest of the run and
                    # the reaper takes the job from a live worker.
                    drop_thread_connection()
        finally:
            # The thread's own connection would otherwise stay open until the process exits.
            connection.close()

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@contextmanager
def run_job(job_id: str) -> Iterator[JobRun | None]:
    """Claim the job and keep its heartbeat going while the body runs it.

    Yields None when there is nothing to do (the job is not queued: a redelivered message,
    or one sent twice). JobLost ends the body quietly. A database error escaping the body
    gives the job back to the queue before it propagates; if even that fails, or no attempt
    is left, the reaper recovers the job. A database error in the claim itself owes the job's
    message again: the message that brought us here is spent.
    """
    try:
        job = claim_job(job_id)
    except DatabaseError:
        _owe_after_failed_claim(job_id)
        raise
    if job is None:
        logger.info("Job %s is not queued; nothing to do", job_id)
        yield None
        return
    # Events and log lines of the work carry the id of the request that queued it.
    token = request_id_var.set(job.request_id or None)
    run = JobRun(job)
    try:
        with Heartbeat(job):
            yield run
    except JobLost:
        # The reaper gave the job to another run (this worker looked dead); that run owns it now.
        logger.warning("Job %s is no longer ours; stopping without side effects", job_id)
    except DatabaseError:
        # The error most often means the connection died (a terminated backend, a database
        # restart): give the job back on a new one, or it waits for the reaper.
        drop_thread_connection()
        try:
            if not retry_on_lost_connection(
                lambda: run.give_back("Retrying after a database error"), f"Giving {job_id} back"
            ):
                logger.warning("Job %s has no attempt left; the reaper will end it", job_id)
        except Exception:
            logger.warning("Could not give %s back; the reaper will requeue it", job_id, exc_info=True)
        raise
    finally:
        request_id_var.reset(token)


def _owe_after_failed_claim(job_id: str) -> None:
    """Owe the message of a job whose claim failed on a database error, so the outbox resends it.

    Celery acknowledges the spent message, and the debt was paid when the broker took it: left
    alone, the still-`queued` job would wait for the reaper's resubmission (minutes). A claim
    whose commit went through although the error came back leaves the job `started`, which
    this does not touch: its heartbeat goes stale and the reaper requeues it.
    """
    drop_thread_connection()

    def owe() -> int:
        due_at = timezone.now() + RETRY_DELAY
        return Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(dispatch_due_at=due_at)

    try:
        if retry_on_lost_connection(owe, f"Owing the message of {job_id} again"):
            logger.warning("Claiming %s failed on a database error; its message is owed again", job_id)
    except DatabaseError:
        logger.warning(
            "Could not owe the message of %s again; the reaper will resubmit it", job_id, exc_info=True
        )
