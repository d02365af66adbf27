"""`manage.py prune_events`: remove events older than EVENT_RETENTION_DAYS now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from events.retention import prune_events


class Command(BaseCommand):
    help = "Delete stored events older than EVENT_RETENTION_DAYS."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"Deleted {prune_events()} events.")
