from __future__ import annotations

from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        # `events` knows nothing of webhooks: it announces committed events, and we listen.
        from django.db.models.signals import post_delete, post_save

        from events.signals import event_committed
        from webhooks.delivery import on_event_committed
        from webhooks.models import WebhookEndpoint
        from webhooks.subscriptions import forget_subscriptions

        event_committed.connect(on_event_committed, dispatch_uid="webhooks.on_event_committed")
        for signal in (post_save, post_delete):
            signal.connect(
                forget_subscriptions, sender=WebhookEndpoint, dispatch_uid=f"webhooks.forget.{signal}"
            )
