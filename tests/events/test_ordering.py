"""Concurrent publishers into one organisation, against PostgreSQL.

The resume contract relies on one property of the store: within an organisation, events
become visible in id order. A reader that repeatedly asks for `id > cursor` must
therefore never later find an id below its cursor, and the per-org `seq` has no hole.
"""

from __future__ import annotations

import random
import threading
import time

import pytest
from django.db import connection, transaction

from accounts.models import Organization
from events import publish
from events.models import Event, OrgEventSequence
from events.publish import publish_event

PUBLISHERS = 6
EVENTS_EACH = 40

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row-lock ordering is a PostgreSQL test"),
]


@pytest.mark.parametrize("outer_transaction", [True, False], ids=["inside-a-transaction", "autocommit"])
def test_visibility_order_is_id_order_under_concurrent_publishers(
    org: Organization, other_org: Organization, monkeypatch: pytest.MonkeyPatch, outer_transaction: bool
) -> None:
    monkeypatch.setattr(publish, "fan_out", lambda event: None)
    start = threading.Barrier(PUBLISHERS + 2)
    done = threading.Event()
    errors: list[BaseException] = []
    late: list[tuple[int, int]] = []  # (id, cursor at the time it was first seen)
    seen: list[int] = []

    def publisher(number: int) -> None:
        rng = random.Random(number)
        try:
            start.wait()
            for i in range(EVENTS_EACH):
                organization = org if number else other_org  # publisher 0 interleaves another org's ids
                if outer_transaction:
                    with transaction.atomic():
                        publish_event(organization.pk, "deal.created", {"deal_id": i, "publisher": number})
                        # Hold the transaction open a little, as a real pipeline step does.
                        time.sleep(rng.random() * 0.003)
                else:
                    publish_event(organization.pk, "deal.created", {"deal_id": i, "publisher": number})
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    def reader() -> None:
        cursor = 0
        try:
            start.wait()
            while True:
                finished = done.is_set()
                ids = list(
                    Event.objects.filter(organization=org, id__gt=cursor)
                    .order_by("id")
                    .values_list("id", flat=True)
                )
                seen.extend(ids)
                if ids:
                    cursor = ids[-1]
                if finished:
                    return
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=publisher, args=(n,)) for n in range(PUBLISHERS)]
    threads.append(threading.Thread(target=reader))
    for thread in threads:
        thread.start()
    start.wait()
    for thread in threads[:-1]:
        thread.join(timeout=60)
    done.set()
    threads[-1].join(timeout=60)
    assert errors == []

    stored = list(Event.objects.filter(organization=org).order_by("id").values_list("id", "seq"))
    expected = (PUBLISHERS - 1) * EVENTS_EACH
    assert len(stored) == expected
    # Every event the reader missed while polling would be an id that appeared below its cursor.
    assert sorted(set(seen)) == [event_id for event_id, _ in stored], late
    assert len(seen) == len(set(seen))
    # seq is gapless and follows the ids.
    assert [seq for _, seq in stored] == list(range(1, expected + 1))
    assert OrgEventSequence.objects.get(organization=org).last_seq == expected
    other = list(Event.objects.filter(organization=other_org).order_by("id").values_list("seq", flat=True))
    assert other == list(range(1, EVENTS_EACH + 1))
    # The ids of the two organisations really did interleave.
    org_ids = [event_id for event_id, _ in stored]
    other_ids = list(Event.objects.filter(organization=other_org).values_list("id", flat=True))
    assert min(other_ids) < max(org_ids)
    assert max(other_ids) > min(org_ids)
