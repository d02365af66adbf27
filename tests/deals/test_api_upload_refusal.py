"""A file that is clearly not a statement (a photo, a Word document...) is refused at upload with
a plain 415 saying what to export instead; nothing is stored and no job starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from rest_framework.test import APIClient

from deals.models import Deal, DealStatus, Statement
from events.models import Event
from jobs.models import Job
from tests.jobs.factories import healthy_csv, upload, zip_bytes

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
DOCX = zip_bytes([("[Content_Types].xml", b"<Types/>"), ("word/document.xml", b"<w:document/>")])
XLSX = zip_bytes([("[Content_Types].xml", b"<Types/>"), ("xl/workbook.xml", b"<workbook/>")])


@pytest.fixture
def deal(org) -> Deal:
    return Deal.objects.create(organization=org, business_name="Bolt Logistics")


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return Path(settings.MEDIA_ROOT)


@pytest.mark.parametrize(
    ("name", "content", "kind"),
    [
        ("IMG_0412.png", PNG, "a PNG picture"),
        ("scan.jpg", JPEG, "a JPEG picture"),
        ("IMG_0413.HEIC", HEIC, "an HEIC picture"),
        ("statement.docx", DOCX, "a Word document"),
        # The name does not matter: the content does.
        ("statement.csv", JPEG, "a JPEG picture"),
    ],
)
def test_it_refuses_a_file_that_is_not_a_statement(
    api: APIClient, deal: Deal, media: Path, name: str, content: bytes, kind: str
) -> None:
    response = api.post(
        f"/api/v1/deals/{deal.pk}/statements", {"file": upload(name, content)}, format="multipart"
    )
    assert response.status_code == 415
    error = response.json()["error"]
    assert error["code"] == "not_a_statement"
    assert error["message"].startswith(f"{name} is {kind}, not a bank statement.")
    assert "CSV or OFX/QFX" in error["message"]
    assert "PDF statement" in error["message"]
    assert not Statement.objects.exists()
    assert not Job.objects.exists()
    assert not Event.objects.exists()
    assert not any(path.is_file() for path in media.rglob("*"))
    deal.refresh_from_db()
    assert deal.status == DealStatus.NEW


def test_a_workbook_is_told_to_be_saved_as_csv(api: APIClient, deal: Deal) -> None:
    response = api.post(
        f"/api/v1/deals/{deal.pk}/statements", {"file": upload("march.xlsx", XLSX)}, format="multipart"
    )
    assert response.status_code == 415
    assert "Save the sheet as CSV" in response.json()["error"]["message"]


def test_a_batch_holding_a_picture_is_refused_whole(api: APIClient, deal: Deal, media: Path) -> None:
    archive = zip_bytes([("feb.csv", healthy_csv()), ("receipt.jpg", JPEG)])
    response = api.post(
        "/api/v1/batches",
        {"deal_id": deal.pk, "files": [upload("jan.csv", healthy_csv()), upload("more.zip", archive)]},
        format="multipart",
    )
    assert response.status_code == 415
    assert response.json()["error"]["message"].startswith("receipt.jpg is a JPEG picture")
    assert not Statement.objects.exists()
    assert not any(path.is_file() for path in media.rglob("*"))


def test_a_statement_is_still_taken(api: APIClient, deal: Deal) -> None:
    response = api.post(
        f"/api/v1/deals/{deal.pk}/statements", {"file": upload("jan.csv", healthy_csv())}, format="multipart"
    )
    assert response.status_code == 202
