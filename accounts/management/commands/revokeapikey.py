"""`manage.py revokeapikey PREFIX`: revoke the key whose readable prefix is PREFIX."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import DISPLAY_PREFIX_LENGTH, ApiKey


class Command(BaseCommand):
    help = "Revoke an API key by its prefix (as shown in the admin, e.g. dsk_live_AbCd1234)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("prefix")

    def handle(self, *args: Any, **options: Any) -> None:
        prefix: str = options["prefix"]
        # A full key may be pasted; only its readable prefix is stored.
        matches = list(ApiKey.objects.filter(prefix=prefix[:DISPLAY_PREFIX_LENGTH]))
        if not matches:
            raise CommandError(f"No API key with prefix {prefix[:DISPLAY_PREFIX_LENGTH]!r}.")
        if len(matches) > 1:
            raise CommandError(f"{len(matches)} keys share that prefix; revoke them in the admin.")
        key = matches[0]
        key.revoke()
        self.stdout.write(f"Revoked {key.prefix}… ({key.name}, {key.organization.name}).")
