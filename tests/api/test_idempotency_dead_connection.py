"""An Idempotency-Key claimed by a request whose database connection died is freed, so the
client's retry runs instead of hearing 409 "in progress" for the whole window.

Real PostgreSQL: the request's backend is terminated from another connection, as an
operator's `pg_terminate_backend` or a database restart does.
"""

from __future__ import annotations

import pytest

from accounts.models import Organization
from api.idempotency import claim, finish, release
from api.models import IdempotencyRecord
from tests.pg_faults import require_postgresql, terminate_this_threads_backend

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgresql() -> None:
    require_postgresql()


def test_a_claim_whose_connection_was_terminated_is_released_on_a_new_one() -> None:
    organization = Organization.objects.create(name="Cut Off")
    record, first = claim(organization, "retry-me", "fingerprint")
    assert first
    terminate_this_threads_backend()

    release(record)

    assert not IdempotencyRecord.objects.filter(organization=organization, key="retry-me").exists()
    _, first = claim(organization, "retry-me", "fingerprint")
    assert first  # the retry runs


def test_an_answer_whose_connection_was_terminated_after_the_work_committed_is_stored_on_a_new_one() -> None:
    organization = Organization.objects.create(name="Cut Off After Commit")
    record, first = claim(organization, "accepted", "fingerprint")
    assert first
    terminate_this_threads_backend()

    finish(record, 202, {"job_id": "job_1"})

    # A retry replays the 202 instead of hearing 409 "in progress".
    replayed, first = claim(organization, "accepted", "fingerprint")
    assert not first
    assert (replayed.status_code, replayed.response_body) == (202, {"job_id": "job_1"})
