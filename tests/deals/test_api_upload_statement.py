"""POST /api/v1/deals/{id}/statements."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage
from rest_framework.test import APIClient

from deals.models import Deal, DealStatus, Statement
from events.models import Event
from jobs.models import Job
from tests.jobs.factories import healthy_csv, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def deal(org) -> Deal:
    return Deal.objects.create(organization=org, business_name="Bolt Logistics")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def post_file(api: APIClient, deal_id: int, content: bytes, name: str = "january.csv", **extra):
    return api.post(
        f"/api/v1/deals/{deal_id}/statements", {"file": upload(name, content)}, format="multipart", **extra
    )


def test_it_accepts_a_statement(api, deal, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post_file(api, deal.pk, healthy_csv())
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued"
    assert body["job_id"].startswith("job_")
    statement = Statement.objects.get(pk=body["statement_id"])
    assert statement.job_id == body["job_id"]
    assert statement.filename == "january.csv"
    assert default_storage.exists(statement.file.name)
    assert "january" not in statement.file.name  # storage names are generated
    assert Job.objects.get(pk=body["job_id"]).input == {
        "deal_id": deal.pk,
        "filename": "january.csv",
        "statement_id": statement.pk,
    }
    deal.refresh_from_db()
    assert deal.status == DealStatus.PROCESSING
    changed = Event.objects.get(type="deal.status_changed")
    assert (changed.data["old_status"], changed.data["new_status"]) == ("new", "processing")
    # The job is submitted once, when the upload commits.
    assert [c.__qualname__.split(".")[0] for c in callbacks].count("send_after_commit") == 1


def test_it_needs_a_file(api, deal):
    response = api.post(f"/api/v1/deals/{deal.pk}/statements", {"other": "x"}, format="multipart")
    assert response.status_code == 400
    assert "file" in response.json()["error"]["fields"]


def test_it_refuses_an_empty_file(api, deal):
    response = post_file(api, deal.pk, b"")
    assert response.status_code == 400


def test_it_refuses_json(api, deal):
    response = api.post(f"/api/v1/deals/{deal.pk}/statements", {"file": "abc"}, format="json")
    assert response.status_code == 415


def test_it_refuses_a_large_declared_body_before_reading_it(api, deal, settings):
    settings.MAX_UPLOAD_MB = 1
    response = post_file(api, deal.pk, b"a,b\n" * (300 * 1024))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "upload_too_large"
    assert not Statement.objects.exists()


def test_it_refuses_a_file_over_the_limit(api, deal, settings):
    settings.MAX_UPLOAD_MB = 1
    # Within the multipart allowance of the Content-Length check, caught by the file size.
    response = post_file(api, deal.pk, b"x" * (1024 * 1024 + 10))
    assert response.status_code == 413
    assert not Statement.objects.exists()


def test_a_decided_deal_takes_no_statements(api, deal):
    Deal.objects.filter(pk=deal.pk).update(status=DealStatus.APPROVED, decision="approved")
    response = post_file(api, deal.pk, healthy_csv())
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "deal_decided"
    assert not Statement.objects.exists()
    assert not Job.objects.exists()


def test_another_organisations_deal_is_not_found(api, other_org):
    theirs = Deal.objects.create(organization=other_org, business_name="Theirs")
    assert post_file(api, theirs.pk, healthy_csv()).status_code == 404
    assert not Statement.objects.exists()


def test_an_unknown_deal_is_not_found(api):
    assert post_file(api, 424242, healthy_csv()).status_code == 404


def test_it_needs_the_write_scope(org, deal, make_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key(org, scopes=['read'])}")
    assert post_file(client, deal.pk, healthy_csv()).status_code == 403


def test_it_is_idempotent(api, deal, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        first = post_file(api, deal.pk, healthy_csv(), HTTP_IDEMPOTENCY_KEY="upload-1")
        second = post_file(api, deal.pk, healthy_csv(), HTTP_IDEMPOTENCY_KEY="upload-1")
    assert first.status_code == second.status_code == 202
    assert first.json() == second.json()
    assert Statement.objects.count() == 1


def test_it_refuses_uploads_over_the_monthly_quota(api, org, deal):
    org.monthly_job_limit = 0
    org.save()
    response = post_file(api, deal.pk, healthy_csv())
    assert response.status_code == 402
    assert response.json()["error"]["code"] == "quota_exceeded"
    assert not Statement.objects.exists()
    deal.refresh_from_db()
    assert deal.status == DealStatus.NEW


def test_an_upload_under_review_goes_back_to_processing(api, deal, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post_file(api, deal.pk, healthy_csv())
    deal.refresh_from_db()
    assert deal.status == DealStatus.UNDER_REVIEW
    with django_capture_on_commit_callbacks(execute=False):
        post_file(api, deal.pk, healthy_csv(), name="march.csv")
    deal.refresh_from_db()
    assert deal.status == DealStatus.PROCESSING
    assert deal.open_proposal is None


def test_it_keeps_a_clean_file_name(api, deal, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        response = post_file(api, deal.pk, healthy_csv(), name="..\\evil\x07.csv")
    assert response.status_code == 202
    assert Statement.objects.get().filename == "evil.csv"


def test_a_refusal_under_the_lock_leaves_no_file_behind(api, deal, settings, monkeypatch):
    from core.errors import QuotaExceeded
    from jobs import services as jobs

    def quota_taken_meanwhile(*args, **kwargs):
        raise QuotaExceeded("Another request took the last slot.")

    monkeypatch.setattr(jobs, "create_jobs", quota_taken_meanwhile)
    assert post_file(api, deal.pk, healthy_csv()).status_code == 402
    stored = [p for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()]
    assert stored == []
