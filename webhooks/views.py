"""Webhooks API: endpoints of the caller's organisation, their secrets, deliveries, replay and ping."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.auth import get_actor
from api.errors import error_body
from api.idempotency import idempotent
from core.errors import NotFound
from webhooks import delivery
from webhooks.models import PREVIOUS_SECRET_VALID_FOR, WebhookDelivery, WebhookEndpoint
from webhooks.serializers import (
    DeliveryOut,
    PingOut,
    ReplayIn,
    ReplayOut,
    SecretOut,
    WebhookCreatedOut,
    WebhookIn,
    WebhookOut,
    WebhookPatch,
)
from webhooks.signing import generate_secret


def get_endpoint(request: Request, webhook_id: str, *, for_update: bool = False) -> WebhookEndpoint:
    """The caller's endpoint, or 404 (another organisation's does not exist for this caller)."""
    endpoints = WebhookEndpoint.objects.filter(organization=get_actor(request).organization, pk=webhook_id)
    if for_update:
        endpoints = endpoints.select_for_update(no_key=True)
    endpoint = endpoints.first()
    if endpoint is None:
        raise NotFound("No such webhook.")
    return endpoint


def _valid(serializer_class: type[Any], data: Any, **kwargs: Any) -> dict[str, Any]:
    body = serializer_class(data=data, **kwargs)
    body.is_valid(raise_exception=True)
    return dict(body.validated_data)


class _WriteScope:
    # Webhooks send the organisation's events anywhere: managing them takes the write scope.
    required_scope = "write"


class WebhookListView(_WriteScope, ListAPIView[WebhookEndpoint]):
    """`GET /webhooks` lists the organisation's endpoints; `POST /webhooks` creates one."""

    serializer_class = WebhookOut

    def get_queryset(self) -> QuerySet[WebhookEndpoint]:
        # Oldest first, by the model's ordering.
        return WebhookEndpoint.objects.filter(organization=get_actor(self.request).organization)

    @extend_schema(request=WebhookIn, responses={201: WebhookCreatedOut})
    @idempotent
    def post(self, request: Request) -> Response:
        fields = _valid(WebhookIn, request.data)
        organization = get_actor(request).organization
        endpoint = WebhookEndpoint.objects.create(
            organization=organization, cursor=delivery.newest_event_id(organization.pk), **fields
        )
        return Response(WebhookCreatedOut(endpoint).data, status=status.HTTP_201_CREATED)


class WebhookDetailView(_WriteScope, APIView):
    @extend_schema(responses=WebhookOut)
    def get(self, request: Request, webhook_id: str) -> Response:
        return Response(WebhookOut(get_endpoint(request, webhook_id)).data)

    @extend_schema(request=WebhookPatch, responses=WebhookOut)
    def patch(self, request: Request, webhook_id: str) -> Response:
        fields = _valid(WebhookPatch, request.data, partial=True)
        with transaction.atomic():
            endpoint = get_endpoint(request, webhook_id, for_update=True)
            if fields.get("enabled") and not endpoint.enabled:
                # Enabled again: a fresh start for retries and the disabling clock; the events
                # published meanwhile are delivered from where delivery stopped.
                fields.update(disabled_reason="", attempt=0, next_attempt_at=None, failing_since=None)
            for name, value in fields.items():
                setattr(endpoint, name, value)
            endpoint.save()
        if endpoint.enabled:
            transaction.on_commit(lambda: delivery.schedule_run(endpoint.pk))
        return Response(WebhookOut(endpoint).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, webhook_id: str) -> Response:
        get_endpoint(request, webhook_id).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookRotateSecretView(_WriteScope, APIView):
    """A new signing secret; the previous one keeps signing (a second signature) for 24 hours."""

    @extend_schema(request=None, responses=SecretOut)
    def post(self, request: Request, webhook_id: str) -> Response:
        with transaction.atomic():
            endpoint = get_endpoint(request, webhook_id, for_update=True)
            endpoint.previous_secret = endpoint.secret
            endpoint.previous_secret_expires_at = timezone.now() + PREVIOUS_SECRET_VALID_FOR
            endpoint.secret = generate_secret()
            endpoint.save(
                update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"]
            )
        return Response(SecretOut(endpoint).data)


class WebhookPingView(_WriteScope, APIView):
    """Send a signed `webhook.ping` in the background; its attempt shows in the deliveries."""

    @extend_schema(request=None, responses={202: PingOut})
    def post(self, request: Request, webhook_id: str) -> Response:
        from jobs.runner import submit
        from webhooks.tasks import ping_webhook

        endpoint = get_endpoint(request, webhook_id)
        try:
            submit(ping_webhook, endpoint.pk)
        except Exception:
            # The broker is away: no domain refusal, an HTTP answer that invites a retry.
            return Response(
                error_body("temporarily_unavailable", "The ping could not be queued; try again shortly."),
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
            )
        return Response({"status": "queued"}, status=status.HTTP_202_ACCEPTED)


class WebhookReplayView(_WriteScope, APIView):
    """Deliver again every subscribed event after `since_id`, in order, then carry on live."""

    @extend_schema(request=ReplayIn, responses={202: ReplayOut})
    def post(self, request: Request, webhook_id: str) -> Response:
        since_id = _valid(ReplayIn, request.data)["since_id"]
        endpoint = get_endpoint(request, webhook_id)
        cursor = delivery.replay(endpoint, since_id)
        return Response({"since_id": since_id, "cursor": cursor}, status=status.HTTP_202_ACCEPTED)


class WebhookDeliveriesView(_WriteScope, ListAPIView[WebhookDelivery]):
    """Every delivery attempt of one endpoint, newest first."""

    serializer_class = DeliveryOut

    def get_queryset(self) -> QuerySet[WebhookDelivery]:
        endpoint = get_endpoint(self.request, self.kwargs["webhook_id"])
        return WebhookDelivery.objects.filter(endpoint=endpoint)  # newest first, the model's ordering
