"""A job's claim, heartbeat and give-back survive a terminated database connection.

Real PostgreSQL: backends are terminated with `pg_terminate_backend`, as an operator, a
failover or a database restart does, which kills a process's idle pooled connections too.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable

import pytest
from django.db import DatabaseError, connection
from django.utils import timezone

from accounts.models import Organization
from jobs import services
from jobs.dispatch import dispatch_owed_jobs
from jobs.handle import RETRY_DELAY, Heartbeat, claim_job, run_job
from jobs.models import Job, JobStatus
from tests.pg_faults import (
    fill_pool_with_idle,
    require_postgresql,
    terminate_every_other_backend,
    terminate_this_threads_backend,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgresql() -> None:
    require_postgresql()


#: Idle connections in the pool when the database cuts them all (a busy worker holds a few).
IDLE_CONNECTIONS = 16


def queued_job(org: Organization) -> Job:
    # No message owed: as once the broker has taken it.
    return services.create_job(org, "statement", {}, submit=False)


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_a_claim_cut_off_by_a_terminated_connection_owes_the_message_again(org: Organization) -> None:
    job = queued_job(org)
    terminate_this_threads_backend()

    with pytest.raises(DatabaseError), run_job(job.pk):
        pytest.fail("the claim cannot succeed on a terminated connection")

    # The message that brought the claim is spent: the outbox must send another.
    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.QUEUED, 0)
    assert job.dispatch_due_at is not None
    assert job.dispatch_due_at <= timezone.now() + RETRY_DELAY
    # Once due, the dispatcher sends it (the inline runner runs it: its statement is gone).
    assert dispatch_owed_jobs(grace=-(RETRY_DELAY + datetime.timedelta(seconds=1))).sent == [job.pk]
    job.refresh_from_db()
    assert (job.status, job.attempts, job.dispatch_due_at) == (JobStatus.FAILED, 1, None)


def test_a_heartbeat_whose_connection_was_terminated_beats_again(org: Organization) -> None:
    job = claim_job(queued_job(org).pk)
    assert job is not None
    claimed_beat = job.heartbeat_at
    assert claimed_beat is not None

    def beat_after(moment: datetime.datetime) -> Callable[[], bool]:
        return lambda: Job.objects.filter(pk=job.pk, heartbeat_at__gt=moment).exists()

    with Heartbeat(job, interval=datetime.timedelta(seconds=0.2)):
        assert wait_until(beat_after(claimed_beat), timeout=5), "the heartbeat never beat"
        assert terminate_every_other_backend() >= 1  # the heartbeat's connection, at least
        cut_at = timezone.now()
        # Without a new connection the thread would fail every beat, and the reaper would take
        # the job from this live run 30 s later.
        assert wait_until(beat_after(cut_at), timeout=5), "the heartbeat stopped after its connection died"


def run_until_every_connection_dies(job: Job, idle: int) -> None:
    with run_job(job.pk) as run:
        assert run is not None
        run.stage("parsing", 0.25)
        # Every connection of the process dies, the idle pooled ones with it.
        # The connection asking may itself be one of the pool's idle ones.
        assert terminate_every_other_backend() >= idle - 1
        terminate_this_threads_backend()
        run.stage("scoring", 0.75)


def test_a_run_whose_connections_were_terminated_gives_its_job_back(org: Organization) -> None:
    # Several idle connections in the pool, as in a busy process: the pool checks each when it
    # hands it out and backs off 1 s, 2 s, 4 s… after a dead one, so one checkout gives up
    # (PoolTimeout, 10 s) before it has gone past them all.
    pool = getattr(connection, "pool", None)  # PostgreSQL with pooling (the settings)
    assert pool is not None
    idle = fill_pool_with_idle(pool, IDLE_CONNECTIONS)
    job = queued_job(org)

    with pytest.raises(DatabaseError):
        run_until_every_connection_dies(job, idle)

    # Back in the queue with its message owed, not `started` until the reaper notices (30 s+).
    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.QUEUED, 1)
    assert job.dispatch_due_at is not None
