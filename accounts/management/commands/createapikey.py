"""`manage.py createapikey --org NAME [--name N] [--scopes read,write]`: prints the new key alone."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import ApiKey, Organization


class Command(BaseCommand):
    help = "Create an API key (and the organisation if needed); the key is printed once, alone, on stdout."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="Organisation name (created if missing).")
        parser.add_argument("--name", default="default", help="A name for the key, shown in the admin.")
        parser.add_argument("--scopes", default="read,write", help="Comma-separated: read, write.")
        parser.add_argument(
            "--test", action="store_true", help="Create a dsk_test_ key instead of dsk_live_."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        scopes = [scope.strip() for scope in options["scopes"].split(",") if scope.strip()]
        unknown = sorted(set(scopes) - set(ApiKey.SCOPES))
        if unknown or not scopes:
            raise CommandError(f"Scopes must be among {', '.join(ApiKey.SCOPES)}; got {options['scopes']!r}.")
        organization, _ = Organization.objects.get_or_create(name=options["org"])
        _, raw = ApiKey.create_key(
            organization, name=options["name"], scopes=scopes, live=not options["test"]
        )
        self.stdout.write(raw)
