"""`manage.py seed_demo`: a demo organisation, an admin and an underwriter login, and an API key."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser

from accounts.models import ApiKey, Membership, Organization, Role

DEMO_ORG = "Demo Lending"
# A local demo login, printed by `make run`; never used outside the embedded demo.
DEMO_PASSWORD = "dealstream-demo"  # noqa: S105


class Command(BaseCommand):
    help = "Create (or refresh) the demo organisation and print its logins and a fresh API key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")

    def handle(self, *args: Any, **options: Any) -> None:
        organization, _ = Organization.objects.get_or_create(name=DEMO_ORG)
        users = []
        for username, role, is_staff in (
            ("admin", Role.ADMIN, True),
            ("underwriter", Role.UNDERWRITER, False),
        ):
            user_model = get_user_model()
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
            users.append(username)
        _, raw = ApiKey.create_key(organization, name="demo")
        base = options["base_url"].rstrip("/")
        self.stdout.write(
            "\n".join(
                [
                    "",
                    f"  Organisation : {DEMO_ORG}",
                    f"  Dashboard    : {base}/  (login: underwriter / {DEMO_PASSWORD})",
                    f"  Admin        : {base}/admin/  (login: admin / {DEMO_PASSWORD})",
                    f"  API docs     : {base}/api/docs/",
                    f"  API key      : {raw}",
                    f"  Try it       : curl -H 'Authorization: Bearer {raw}' {base}/api/v1/deals",
                    "",
                ]
            )
        )
