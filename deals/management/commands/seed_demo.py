"""`manage.py seed_demo`: the demo organisation, its logins, one lasting API key and a scored demo deal."""

from __future__ import annotations

import os
from contextlib import ExitStack
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import (
    DISPLAY_PREFIX_LENGTH,
    KEY_PREFIXES,
    ApiKey,
    Membership,
    Organization,
    Role,
    hash_key,
)
from deals.models import Deal
from deals.services import Document, add_statements, create_deal

DEMO_ORG = "Demo Lending"
# A local demo login, printed by `make run`; never used outside the embedded demo.
DEMO_PASSWORD = "dealstream-demo"  # noqa: S105
DEMO_KEY_NAME = "demo"
DEMO_DEAL_NAME = "Bolt Logistics LLC"
DEMO_DEAL_REF = "demo"
DEMO_AMOUNT = Decimal("60000.00")
SAMPLES_DIR = Path(settings.BASE_DIR) / "samples"
# Two consecutive months of one checking account, in two layouts banks export.
DEMO_STATEMENTS = ("bolt-checking-2026-09.csv", "bolt-checking-2026-10.ofx")


def demo_key_file() -> Path:
    """Where the demo key is kept between starts: the data directory, which git ignores."""
    return Path(settings.MEDIA_ROOT) / "demo-api-key"


class Command(BaseCommand):
    help = (
        "Create (or refresh) the demo organisation, its logins, a demo deal with two processed "
        "statements, and print them with the demo API key (the same one at every start)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")

    def handle(self, *args: Any, **options: Any) -> None:
        organization, _ = Organization.objects.get_or_create(name=DEMO_ORG)
        self._seed_users(organization)
        raw = self._demo_key(organization)
        deal = self._demo_deal(organization)
        base = options["base_url"].rstrip("/")
        self.stdout.write(
            "\n".join(
                [
                    "",
                    f"  Organisation : {DEMO_ORG}",
                    f"  Dashboard    : {base}/  (login: underwriter / {DEMO_PASSWORD})",
                    f"  Demo deal    : {base}/deals/{deal.pk}  ({deal.business_name}, two statements)",
                    f"  Admin        : {base}/admin/  (login: admin / {DEMO_PASSWORD})",
                    f"  API docs     : {base}/api/docs/",
                    f"  API key      : {raw}  (kept in {demo_key_file()})",
                    f"  Try it       : curl -H 'Authorization: Bearer {raw}' {base}/api/v1/deals",
                    f"  CLI          : export DEALSTREAM_API_KEY={raw} DEALSTREAM_BASE_URL={base}",
                    "",
                ]
            )
        )

    def _seed_users(self, organization: Organization) -> None:
        user_model = get_user_model()
        for username, role, is_staff in (
            ("admin", Role.ADMIN, True),
            ("underwriter", Role.UNDERWRITER, False),
        ):
            user, _ = user_model.objects.get_or_create(
                username=username, defaults={"email": f"{username}@demo.dealstream.test"}
            )
            user.is_staff = is_staff
            user.is_superuser = is_staff
            user.set_password(DEMO_PASSWORD)
            user.save()
            Membership.objects.update_or_create(
                user=user, defaults={"organization": organization, "role": role}
            )

    def _demo_key(self, organization: Organization) -> str:
        """The demo key of the last start, or a new one kept for the next starts.

        Only the hash is in the database, so the raw key lives in a file beside the uploads.
        A key whose row was deleted (a fresh database) is put back; a revoked or expired one
        is replaced, since the admin meant it to stop working.
        """
        path = demo_key_file()
        raw = path.read_text().strip() if path.is_file() else ""
        if raw.startswith(KEY_PREFIXES):
            existing = ApiKey.objects.filter(key_hash=hash_key(raw)).first()
            if existing is None:
                ApiKey.objects.create(
                    organization=organization,
                    name=DEMO_KEY_NAME,
                    prefix=raw[:DISPLAY_PREFIX_LENGTH],
                    key_hash=hash_key(raw),
                    scopes=list(ApiKey.SCOPES),
                )
                return raw
            if existing.is_usable and existing.organization_id == organization.pk:
                return raw
        _, raw = ApiKey.create_key(organization, name=DEMO_KEY_NAME)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Created owner-only: the file holds a working credential.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(raw + "\n")
        return raw

    def _demo_deal(self, organization: Organization) -> Deal:
        """The demo deal, created once with its statements processed before the server starts."""
        existing = Deal.objects.filter(organization=organization, external_ref=DEMO_DEAL_REF).first()
        if existing is not None:
            return existing
        missing = [name for name in DEMO_STATEMENTS if not (SAMPLES_DIR / name).is_file()]
        if missing:
            raise CommandError(f"Demo statements missing from {SAMPLES_DIR}: {', '.join(missing)}")
        deal = create_deal(
            organization,
            business_name=DEMO_DEAL_NAME,
            amount_requested=DEMO_AMOUNT,
            external_ref=DEMO_DEAL_REF,
            created_by="seed_demo",
        )
        # The server is not running yet: process here, synchronously, so the first page the
        # newcomer opens already shows the score (the same task code the workers run).
        runner = settings.JOB_RUNNER
        settings.JOB_RUNNER = "inline"
        try:
            with ExitStack() as files:
                documents = [
                    Document(path.name, files.enter_context(path.open("rb")), path.stat().st_size)
                    for path in (SAMPLES_DIR / name for name in DEMO_STATEMENTS)
                ]
                add_statements(organization, deal.pk, documents, created_by="seed_demo")
        finally:
            settings.JOB_RUNNER = runner
        deal.refresh_from_db()
        return deal
