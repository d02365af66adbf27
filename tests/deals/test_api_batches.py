"""POST /api/v1/batches and GET /api/v1/batches/{id}."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from deals import uploads
from deals.models import Batch, BatchStatus, Deal, DealStatus, Statement
from events.models import Event
from tests.jobs.factories import bad_file, healthy_csv, ofx_medium, statement_pdf, upload, zip_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def deal(org) -> Deal:
    return Deal.objects.create(organization=org, business_name="Bolt Logistics")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def post_batch(api: APIClient, deal_id: object, files: list, **extra):
    return api.post("/api/v1/batches", {"deal_id": deal_id, "files": files}, format="multipart", **extra)


def test_it_processes_every_document_and_completes_once(api, deal, django_capture_on_commit_callbacks):
    archive = zip_bytes(
        [("feb.pdf", statement_pdf()), ("docs/", b""), ("__MACOSX/._feb.pdf", b"x"), ("bad.png", bad_file())]
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = post_batch(
            api,
            deal.pk,
            [upload("jan.csv", healthy_csv()), upload("m.ofx", ofx_medium()), upload("more.zip", archive)],
        )
    assert response.status_code == 202
    body = response.json()
    assert body["batch_id"].startswith("batch_")
    assert body["total"] == 4

    batch = Batch.objects.get(pk=body["batch_id"])
    assert (batch.status, batch.succeeded, batch.failed) == (BatchStatus.COMPLETED, 3, 1)
    batch_events = list(Event.objects.filter(batch_id=batch.pk).order_by("id"))
    assert [e.data["progress"] for e in batch_events[:-1]] == ["1/4", "2/4", "3/4", "4/4"]
    assert (
        sorted(e.type for e in batch_events[:-1])
        == ["batch.document_failed"] + ["batch.document_processed"] * 3
    )
    failed = next(e for e in batch_events if e.type == "batch.document_failed")
    assert failed.data["error"] == "Unsupported file format"
    assert Statement.objects.get(pk=failed.data["document_id"]).filename == "bad.png"
    processed = next(e for e in batch_events if e.type == "batch.document_processed")
    assert processed.data["status"] == "completed"
    assert batch_events[-1].type == "batch.completed"
    assert {k: batch_events[-1].data[k] for k in ("batch_id", "total", "succeeded", "failed")} == {
        "batch_id": batch.pk,
        "total": 4,
        "succeeded": 3,
        "failed": 1,
    }
    # Batch documents are statements of the deal and emit its processing events too.
    assert Event.objects.filter(type="processing.started", deal_id=deal.pk).count() == 4
    deal.refresh_from_db()
    assert deal.status == DealStatus.UNDER_REVIEW

    detail = api.get(f"/api/v1/batches/{batch.pk}")
    assert detail.status_code == 200
    assert detail.json()["progress"] == "4/4"
    assert [d["filename"] for d in detail.json()["documents"]] == ["jan.csv", "m.ofx", "feb.pdf", "bad.png"]


def test_the_documents_finish_together(api, deal, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post_batch(api, deal.pk, [upload("a.csv", healthy_csv()), upload("b.csv", healthy_csv())])
    assert Batch.objects.get().status == BatchStatus.PROCESSING
    for callback in callbacks:
        callback()
    assert Event.objects.filter(type="batch.completed").count() == 1
    assert Event.objects.filter(type="deal.status_changed", data__new_status="under_review").count() == 1
    assert response.json()["total"] == 2


@pytest.mark.parametrize("deal_id", ["", "abc", "1.5", "-3", "99999999999999999999"])
def test_it_validates_the_deal_id(api, deal_id):
    response = post_batch(api, deal_id, [upload("a.csv", healthy_csv())])
    assert response.status_code == 400
    assert "deal_id" in response.json()["error"]["fields"]


def test_it_needs_files(api, deal):
    response = api.post("/api/v1/batches", {"deal_id": deal.pk}, format="multipart")
    assert response.status_code == 400
    assert "files" in response.json()["error"]["fields"]


def test_an_empty_zip_is_refused(api, deal):
    response = post_batch(api, deal.pk, [upload("empty.zip", zip_bytes([("folder/", b"")]))])
    assert response.status_code == 400
    assert not Batch.objects.exists()


def test_a_corrupt_zip_is_refused(api, deal):
    response = post_batch(api, deal.pk, [upload("broken.zip", b"PK\x03\x04 not really")])
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_zip"


def test_too_many_documents_are_refused(api, deal, monkeypatch):
    monkeypatch.setattr(uploads, "MAX_BATCH_DOCUMENTS", 3)
    archive = zip_bytes([(f"s{n}.csv", healthy_csv(10)) for n in range(4)])
    response = post_batch(api, deal.pk, [upload("many.zip", archive)])
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "too_many_files"
    assert not Statement.objects.exists()


def test_a_zip_bomb_is_refused(api, deal, settings):
    settings.MAX_UPLOAD_MB = 1
    archive = zip_bytes([("huge.csv", b"0" * (3 * 1024 * 1024))])  # compresses to a few KB
    assert len(archive) < 64 * 1024
    response = post_batch(api, deal.pk, [upload("bomb.zip", archive)])
    assert response.status_code == 413
    assert not Statement.objects.exists()


def test_a_large_file_is_refused(api, deal, settings):
    settings.MAX_UPLOAD_MB = 1
    response = post_batch(api, deal.pk, [upload("big.csv", b"x" * (1024 * 1024 + 1))])
    assert response.status_code == 413


def test_a_decided_deal_is_a_conflict(api, deal):
    Deal.objects.filter(pk=deal.pk).update(status=DealStatus.DECLINED)
    assert post_batch(api, deal.pk, [upload("a.csv", healthy_csv())]).status_code == 409
    assert not Batch.objects.exists()


def test_another_organisations_deal_is_not_found(api, other_org):
    theirs = Deal.objects.create(organization=other_org, business_name="T")
    assert post_batch(api, theirs.pk, [upload("a.csv", healthy_csv())]).status_code == 404


def test_another_organisations_batch_is_not_found(api, other_org):
    theirs = Deal.objects.create(organization=other_org, business_name="T")
    batch = Batch.objects.create(organization=other_org, deal=theirs, total=1)
    assert api.get(f"/api/v1/batches/{batch.pk}").status_code == 404
    assert api.get("/api/v1/batches/batch_unknown").status_code == 404


def test_it_is_idempotent(api, deal, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        first = post_batch(api, deal.pk, [upload("a.csv", healthy_csv())], HTTP_IDEMPOTENCY_KEY="b-1")
        second = post_batch(api, deal.pk, [upload("a.csv", healthy_csv())], HTTP_IDEMPOTENCY_KEY="b-1")
    assert first.json() == second.json()
    assert Batch.objects.count() == 1


def test_it_needs_the_write_scope(org, deal, make_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key(org, scopes=['read'])}")
    assert post_batch(client, deal.pk, [upload("a.csv", healthy_csv())]).status_code == 403


def test_the_quota_covers_the_whole_batch(api, org, deal):
    org.monthly_job_limit = 1
    org.save()
    response = post_batch(api, deal.pk, [upload("a.csv", healthy_csv()), upload("b.csv", healthy_csv())])
    assert response.status_code == 402
    assert not Statement.objects.exists()
