"""The job outbox: a queued job owes its task message until the broker has accepted it.

The debt (`Job.dispatch_due_at`) commits with the job, and the message is sent once the
transaction commits. When the broker is down that send fails, the request still succeeds
(the job is `queued`) and the debt stays: a retry loop started by the failed send tries
every second until nothing is owed, and `jobs.tasks.dispatch_owed_jobs` on the beat
schedule settles debts a process left behind when it died. A claim clears the debt.
Sending a message twice is harmless: a claim is atomic, so only one run ever takes the job.
"""

from __future__ import annotations

import datetime
import logging
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

from celery import Task
from django.db import DatabaseError, close_old_connections, connection, transaction
from django.utils import timezone

from jobs.job_task import task_for
from jobs.models import Job, JobStatus
from jobs.runner import submit

logger = logging.getLogger(__name__)

# A debt younger than this is left to the commit that created it (its send is in flight).
DISPATCH_GRACE = datetime.timedelta(seconds=2)
# How often a process whose send failed tries again while the broker is away.
RETRY_INTERVAL_SECONDS = 1.0
# Jobs sent per pass; the next pass takes the rest.
DISPATCH_BATCH = 500


def send_after_commit(task: Task, job_id: str, due_at: datetime.datetime) -> None:
    """Send the job's message once the current transaction commits; never raises there."""
    transaction.on_commit(lambda: _send_unless_broker_down(task, job_id, due_at))


def _send_unless_broker_down(task: Task, job_id: str, due_at: datetime.datetime) -> None:
    # A failed send costs the request about half a second of client retries; while this
    # process's retry loop runs the broker is known to be away, so the debt goes to it.
    if not _retrying:
        send(task, job_id, due_at)


def send(task: Task, job_id: str, due_at: datetime.datetime) -> bool:
    """Hand the job to its task now and clear its debt; on a broker error keep the debt.

    Never raises: it runs after the job committed, where an error could only turn an
    accepted request into a 500 that the client would retry, duplicating the upload.
    """
    try:
        submit(task, job_id)
    except Exception:
        logger.warning("Could not send job %s to the broker; it stays queued and is sent later", job_id)
        start_retry_loop()
        return False
    try:
        # Only the debt this send paid: the reaper may have requeued the job since.
        Job.objects.filter(pk=job_id, dispatch_due_at=due_at).update(dispatch_due_at=None)
    except DatabaseError:
        logger.warning("Could not clear the dispatch debt of %s; it will be sent again", job_id)
    return True


@dataclass(frozen=True)
class DispatchReport:
    sent: list[str]
    broker_down: bool
    still_owed: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def dispatch_owed_jobs(*, grace: datetime.timedelta = DISPATCH_GRACE) -> DispatchReport:
    """Send every queued job whose message is owed for longer than `grace`, oldest first."""
    now = timezone.now()
    owed = (
        Job.objects.filter(status=JobStatus.QUEUED, dispatch_due_at__lte=now - grace)
        .order_by("dispatch_due_at")
        .values_list("pk", "type", "dispatch_due_at")[:DISPATCH_BATCH]
    )
    sent: list[str] = []
    broker_down = False
    for job_id, job_type, due_at in list(owed):
        # Take this debt: a concurrent dispatcher that read the same row now matches nothing.
        if not Job.objects.filter(pk=job_id, dispatch_due_at=due_at).update(dispatch_due_at=now):
            continue
        task = task_for(job_type)
        if task is None:
            logger.error("Job %s has the unknown type %r; it cannot be run", job_id, job_type)
            Job.objects.filter(pk=job_id, dispatch_due_at=now).update(dispatch_due_at=None)
            continue
        if not send(task, job_id, now):
            broker_down = True  # the rest would fail the same way; the next pass takes them
            break
        sent.append(job_id)
    still_owed = Job.objects.filter(status=JobStatus.QUEUED, dispatch_due_at__isnull=False).count()
    if sent:
        logger.info("Sent %d owed job message(s); %d still owed", len(sent), still_owed)
    return DispatchReport(sent, broker_down, still_owed)


_retry_lock = threading.Lock()
_retrying = False


def start_retry_loop() -> None:
    """Keep sending this process's owed messages every second until none is owed (idempotent)."""
    global _retrying
    with _retry_lock:
        if _retrying:
            return
        _retrying = True
    threading.Thread(target=_retry_until_settled, name="job-dispatch-retry", daemon=True).start()


def _retry_until_settled() -> None:
    global _retrying
    try:
        while True:
            time.sleep(RETRY_INTERVAL_SECONDS)
            try:
                report = dispatch_owed_jobs()
            except Exception:
                logger.warning("Sending owed job messages failed; trying again", exc_info=True)
                continue
            finally:
                # A thread of its own: nothing else closes its connection.
                close_old_connections()
            if not report.broker_down and report.still_owed == 0:
                return
    finally:
        connection.close()
        with _retry_lock:
            _retrying = False
