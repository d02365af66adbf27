from __future__ import annotations

from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        # `events` knows nothing of webhooks: it announces committed events, and we listen.
        from events.signals import event_committed
        from webhooks.delivery import on_event_committed

        event_committed.connect(on_event_committed, dispatch_uid="webhooks.on_event_committed")
