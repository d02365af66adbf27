"""An Idempotency-Key claimed by a request whose database connection died is freed, so the
client's retry runs instead of hearing 409 "in progress" for the whole window.

Real PostgreSQL: the request's backend is terminated from another connection, as an
operator's `pg_terminate_backend` or a database restart does.
"""

from __future__ import annotations

import os

import psycopg
import pytest
from django.db import connection

from accounts.models import Organization
from api.idempotency import claim, release
from api.models import IdempotencyRecord

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_claim_whose_connection_was_terminated_is_released_on_a_new_one() -> None:
    if connection.vendor != "postgresql":
        if os.environ.get("DEALSTREAM_REQUIRE_SERVICES") == "1":
            pytest.fail("this test needs PostgreSQL (DATABASE_URL)")
        pytest.skip("this test needs PostgreSQL (DATABASE_URL)")
    organization = Organization.objects.create(name="Cut Off")
    record, first = claim(organization, "retry-me", "fingerprint")
    assert first
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    dsn = connection.get_connection_params()
    with psycopg.connect(
        host=dsn.get("host"),
        port=dsn.get("port"),
        user=dsn.get("user"),
        dbname=dsn["dbname"],
        autocommit=True,
    ) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (backend,))

    release(record)

    assert not IdempotencyRecord.objects.filter(organization=organization, key="retry-me").exists()
    _, first = claim(organization, "retry-me", "fingerprint")
    assert first  # the retry runs
