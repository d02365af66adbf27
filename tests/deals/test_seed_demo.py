"""`manage.py seed_demo`, what `make run` starts with: one lasting demo key and one scored demo deal."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from pytest_django.fixtures import SettingsWrapper

from accounts.models import ApiKey, Organization, hash_key
from deals.management.commands.seed_demo import DEMO_DEAL_REF, DEMO_ORG, DEMO_STATEMENTS, demo_key_file
from deals.models import Deal

# The jobs run after their transaction commits, so the database must really commit.
pytestmark = pytest.mark.django_db(transaction=True)

PRINTED_KEY = re.compile(r"API key\s+:\s+(dsk_live_\S+)")


@pytest.fixture
def data_dir(settings: SettingsWrapper, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def seed() -> tuple[str, str]:
    out = io.StringIO()
    call_command("seed_demo", "--base-url", "http://127.0.0.1:8123", stdout=out)
    printed = out.getvalue()
    match = PRINTED_KEY.search(printed)
    assert match, printed
    return match.group(1), printed


def test_it_seeds_one_key_and_one_scored_deal_however_often_it_runs(data_dir: Path) -> None:
    first_key, printed = seed()
    second_key, _ = seed()
    assert second_key == first_key
    organization = Organization.objects.get(name=DEMO_ORG)
    assert list(ApiKey.objects.filter(organization=organization).values_list("key_hash", flat=True)) == [
        hash_key(first_key)
    ]
    assert demo_key_file().read_text().strip() == first_key
    assert demo_key_file().stat().st_mode & 0o077 == 0
    deal = Deal.objects.get(organization=organization, external_ref=DEMO_DEAL_REF)
    assert Deal.objects.filter(organization=organization).count() == 1
    statements = list(deal.statements.order_by("pk"))
    assert [s.filename for s in statements] == list(DEMO_STATEMENTS)
    assert [s.status for s in statements] == ["completed", "completed"]
    assert all((s.transaction_count or 0) > 40 for s in statements)
    assert deal.status == "under_review"
    assert deal.health_score is not None
    assert f"/deals/{deal.pk}" in printed
    assert f"export DEALSTREAM_API_KEY={first_key} DEALSTREAM_BASE_URL=http://127.0.0.1:8123" in printed


def test_it_puts_the_kept_key_back_into_a_fresh_database(data_dir: Path) -> None:
    raw, _ = seed()
    ApiKey.objects.all().delete()
    again, _ = seed()
    assert again == raw
    assert ApiKey.objects.get().key_hash == hash_key(raw)


def test_it_replaces_a_revoked_demo_key(data_dir: Path) -> None:
    raw, _ = seed()
    ApiKey.objects.get().revoke()
    replacement, _ = seed()
    assert replacement != raw
    assert demo_key_file().read_text().strip() == replacement
    assert ApiKey.objects.usable().get().key_hash == hash_key(replacement)
