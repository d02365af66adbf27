"""Celery tasks of webhook delivery (thin: they take ids and call webhooks.delivery)."""

from __future__ import annotations

from celery import shared_task

from webhooks import delivery


@shared_task(name="webhooks.tasks.deliver_webhook", ignore_result=True)
def deliver_webhook(endpoint_id: str) -> int:
    """Deliver one endpoint's pending events, in id order (a no-op while another run has it)."""
    return delivery.run_endpoint(endpoint_id)


@shared_task(name="webhooks.tasks.ping_webhook", ignore_result=True)
def ping_webhook(endpoint_id: str) -> None:
    """Send a test `webhook.ping` and record the attempt."""
    delivery.ping(endpoint_id)


@shared_task(name="webhooks.tasks.deliver_due_webhooks", ignore_result=True)
def deliver_due_webhooks() -> int:
    """Start runs for endpoints with pending events: retries that fell due, lost triggers."""
    return len(delivery.deliver_due())


@shared_task(name="webhooks.tasks.prune_webhook_deliveries", ignore_result=True)
def prune_webhook_deliveries() -> int:
    return delivery.prune_deliveries()
