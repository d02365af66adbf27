"""Uploading statements from the deal page goes through deals.services like the API does."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.test import Client

from deals.models import Batch, Deal, DealStatus, Statement, StatementStatus
from events.models import Event
from jobs.models import Job
from tests.jobs.factories import healthy_csv

pytestmark = pytest.mark.django_db


def named(content: bytes, name: str) -> io.BytesIO:
    upload = io.BytesIO(content)
    upload.name = name
    return upload


def post(client: Client, deal: Deal, *files: io.BytesIO, json: bool = True):
    accept = "application/json" if json else "text/html"
    return client.post(f"/deals/{deal.pk}/statements", {"statements": list(files)}, HTTP_ACCEPT=accept)


def test_one_file_is_one_statement(
    underwriter_client: Client, underwriter, deal: Deal, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(underwriter_client, deal, named(healthy_csv(), "january.csv"))
    assert response.status_code == 202
    body = response.json()
    assert body["batch"] is None
    assert [s["filename"] for s in body["statements"]] == ["january.csv"]
    statement = Statement.objects.get(pk=body["statements"][0]["id"])
    assert statement.batch_id is None
    assert statement.status == StatementStatus.COMPLETED  # the inline runner ran the pipeline
    deal.refresh_from_db()
    assert deal.status == DealStatus.UNDER_REVIEW
    assert Job.objects.get(pk=statement.job_id).request_id  # the request id reached the job
    stages = list(
        Event.objects.filter(type__startswith="processing.").values_list("data__progress", flat=True)
    )
    assert stages == [0, 25, 50, 75, 100]


def test_several_files_are_a_batch(underwriter_client: Client, deal: Deal):
    response = post(
        underwriter_client, deal, named(healthy_csv(), "jan.csv"), named(healthy_csv(), "feb.csv")
    )
    assert response.status_code == 202
    body = response.json()
    batch = Batch.objects.get(pk=body["batch"]["id"])
    assert batch.total == 2
    assert body["batch"]["url"] == f"/batches/{batch.pk}"
    assert sorted(s["filename"] for s in body["statements"]) == ["feb.csv", "jan.csv"]


def test_a_zip_is_a_batch_of_its_members(underwriter_client: Client, deal: Deal):
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("statements/jan.csv", healthy_csv())
        zipped.writestr("statements/feb.csv", healthy_csv())
    response = post(underwriter_client, deal, named(archive.getvalue(), "statements.zip"))
    assert response.status_code == 202
    assert Batch.objects.get().total == 2


def test_a_plain_form_post_redirects_back_with_a_message(underwriter_client: Client, deal: Deal):
    response = post(underwriter_client, deal, named(healthy_csv(), "jan.csv"), json=False)
    assert response.status_code == 302
    page = underwriter_client.get(response["Location"]).content.decode()
    assert "1 statement uploaded; processing has started." in page


def test_it_needs_a_file(underwriter_client: Client, deal: Deal):
    response = underwriter_client.post(f"/deals/{deal.pk}/statements", {}, HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["message"]


def test_it_refuses_an_empty_file(underwriter_client: Client, deal: Deal):
    response = post(underwriter_client, deal, named(b"", "empty.csv"))
    assert response.status_code == 400
    assert "empty" in response.json()["error"]["message"]


def test_it_refuses_a_file_over_the_limit(underwriter_client: Client, deal: Deal, settings):
    settings.MAX_UPLOAD_MB = 1
    response = post(underwriter_client, deal, named(b"a,b\n" * (300 * 1024), "huge.csv"))
    assert response.status_code == 413
    assert not Statement.objects.exists()


def test_a_decided_deal_takes_no_statements(underwriter_client: Client, reviewed_deal: Deal, org):
    from deals import services

    services.decide(org, reviewed_deal.pk, "approved", decided_by="x")
    response = post(underwriter_client, reviewed_deal, named(healthy_csv(), "late.csv"))
    assert response.status_code == 409
    assert "approved" in response.json()["error"]["message"]
    html = underwriter_client.get(f"/deals/{reviewed_deal.pk}").content.decode()
    assert 'id="upload-form"' not in html
    assert "takes no more statements" in html


def test_an_unreadable_file_fails_its_statement_with_a_reason(
    underwriter_client: Client, deal: Deal, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(underwriter_client, deal, named(b"\x00\x01binary", "photo.jpg"))
    assert response.status_code == 202
    statement = Statement.objects.get()
    assert statement.status == StatementStatus.FAILED
    html = underwriter_client.get(f"/deals/{deal.pk}").content.decode()
    assert statement.error in html


def test_a_picture_is_refused_with_what_to_export_instead(underwriter_client: Client, deal: Deal):
    response = post(underwriter_client, deal, named(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "IMG_0412.png"))
    assert response.status_code == 415
    message = response.json()["error"]["message"]
    assert message.startswith("IMG_0412.png is a PNG picture, not a bank statement.")
    assert "CSV or OFX/QFX" in message
    assert not Statement.objects.exists()
    assert not Job.objects.exists()
    # Without the script, the same words on the page.
    response = post(
        underwriter_client, deal, named(b"\xff\xd8\xff\xe0" + b"\x00" * 64, "scan.jpg"), json=False
    )
    assert response.status_code == 302
    html = underwriter_client.get(f"/deals/{deal.pk}").content.decode()
    assert "scan.jpg is a JPEG picture, not a bank statement." in html
    assert not Statement.objects.exists()
