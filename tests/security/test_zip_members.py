"""A zip's hidden files, resource forks and directories count against the batch's entry limit."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from deals.models import Batch, Deal
from tests.jobs.factories import healthy_csv, upload, zip_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def deal(org) -> Deal:
    return Deal.objects.create(organization=org, business_name="Bolt Logistics")


def post_batch(api: APIClient, deal_id: int, files: list):
    return api.post("/api/v1/batches", {"deal_id": deal_id, "files": files}, format="multipart")


def test_it_counts_skipped_entries_against_the_limit(api: APIClient, deal: Deal) -> None:
    padding = 1000  # far above any sane entry limit, far below the upload size limit
    members = [("jan.csv", healthy_csv())]
    members += [(f"folder{n}/", b"") for n in range(padding // 2)]
    members += [(f"__MACOSX/._hidden{n}", b"x") for n in range(padding - padding // 2)]
    response = post_batch(api, deal.pk, [upload("padded.zip", zip_bytes(members))])
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "too_many_files"
    assert "entries" in response.json()["error"]["message"]
    assert not Batch.objects.exists()


def test_it_still_accepts_a_zip_from_a_mac_with_its_resource_forks(api: APIClient, deal: Deal) -> None:
    members = [("statements/", b"")]
    for n in range(3):
        members += [(f"statements/s{n}.csv", healthy_csv(10)), (f"__MACOSX/statements/._s{n}.csv", b"x")]
    response = post_batch(api, deal.pk, [upload("mac.zip", zip_bytes(members))])
    assert response.status_code == 202, response.content
    assert response.json()["total"] == 3
