from __future__ import annotations

from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "events"
    verbose_name = "Events"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from accounts.models import ApiKey
        from events.keycache import forget_key

        # A cached stream key is dropped as soon as its row changes (revoked, rotated, deleted).
        post_save.connect(forget_key, sender=ApiKey, dispatch_uid="events.keycache.saved")
        post_delete.connect(forget_key, sender=ApiKey, dispatch_uid="events.keycache.deleted")
