"""A request creating jobs and a worker publishing, at the same time, against PostgreSQL.

Publishing holds the organisation's event-sequence row until commit, and inserting the
event checks its foreign key to the organisation (`FOR KEY SHARE` on that row). A request
that had locked the organisation with a plain `FOR UPDATE` (the monthly-quota check) made
the worker's insert wait on the request while the request, about to publish, waited on the
worker's sequence lock: PostgreSQL broke the cycle by failing the upload with a 500.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, transaction

from accounts.models import Organization
from deals.services import STATEMENT_JOB
from events import publish
from events.models import Event
from events.publish import publish_event
from jobs import services as jobs

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are a PostgreSQL test"),
]

# Longer than PostgreSQL's default deadlock_timeout (1 s), so a cycle is detected while the
# request still waits, instead of the request giving up first.
WORKER_GRACE_SECONDS = 2.0


def test_a_worker_publishes_while_a_request_holds_the_quota_lock(
    org: Organization, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(publish, "fan_out", lambda event: None)
    publish_event(org.pk, "deal.created", {"deal_id": 1})  # the org's counter row exists
    quota_locked = threading.Event()
    worker_published = threading.Event()
    errors: list[BaseException] = []
    real_check_quota = jobs.check_quota

    def check_quota_then_let_the_worker_in(organization: Organization, count: int, *args: Any) -> None:
        real_check_quota(organization, count, *args)
        if threading.current_thread().name == "request":
            # The organisation row is locked now; the worker publishes before we do.
            quota_locked.set()
            worker_published.wait(WORKER_GRACE_SECONDS)

    monkeypatch.setattr(jobs, "check_quota", check_quota_then_let_the_worker_in)

    def request() -> None:
        try:
            jobs.create_jobs(org, STATEMENT_JOB, [{"deal_id": 1}], submit=False)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    def worker() -> None:
        try:
            assert quota_locked.wait(10), "the request never reached the quota check"
            with transaction.atomic():
                publish_event(org.pk, "processing.progress", {"deal_id": 1, "stage": "parsing"})
                worker_published.set()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=request, name="request"),
        threading.Thread(target=worker, name="worker"),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    assert worker_published.is_set(), "the worker's publish waited on the request's lock"
    types = list(Event.objects.filter(organization=org).order_by("id").values_list("type", flat=True))
    assert types == ["deal.created", "processing.progress", "status"]
