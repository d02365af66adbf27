"""`Idempotency-Key` on creating POSTs: the same key and body replays the first response."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.auth import get_actor
from api.errors import ApiError, Conflict
from api.models import IdempotencyRecord

MAX_KEY_LENGTH = 255
ViewMethod = TypeVar("ViewMethod", bound=Callable[..., Response])


def request_fingerprint(request: Request) -> str:
    """A digest of what the request asks for: method, path and parsed body (files by content)."""
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    data = request.data
    if hasattr(data, "lists"):
        for name, values in sorted(data.lists()):
            for value in values:
                digest.update(name.encode() + b"=")
                if isinstance(value, UploadedFile):
                    for chunk in value.chunks():
                        digest.update(chunk)
                    value.seek(0)
                    digest.update(f";filename={value.name}".encode())
                else:
                    digest.update(str(value).encode())
                digest.update(b"\n")
    else:
        digest.update(json.dumps(data, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def idempotent(view_method: ViewMethod) -> ViewMethod:
    """Decorate a DRF view's `post` so an `Idempotency-Key` header makes it safe to retry."""

    @functools.wraps(view_method)
    def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get("Idempotency-Key")
        if not key:
            return view_method(view, request, *args, **kwargs)
        if len(key) > MAX_KEY_LENGTH:
            raise ApiError(
                400, "invalid_idempotency_key", f"Idempotency-Key is at most {MAX_KEY_LENGTH} characters."
            )
        organization = get_actor(request).organization
        fingerprint = request_fingerprint(request)
        window_start = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_WINDOW_HOURS)
        IdempotencyRecord.objects.filter(
            organization=organization, key=key, created_at__lt=window_start
        ).delete()
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    organization=organization, key=key, fingerprint=fingerprint
                )
        except IntegrityError:
            return _replay(organization, key, fingerprint)
        try:
            response = view_method(view, request, *args, **kwargs)
        except Exception:
            record.delete()
            raise
        if response.status_code >= 500:
            record.delete()
        else:
            record.status_code = response.status_code
            record.response_body = response.data
            record.save(update_fields=["status_code", "response_body"])
        return response

    return wrapper  # type: ignore[return-value]


def _replay(organization: Any, key: str, fingerprint: str) -> Response:
    record = IdempotencyRecord.objects.get(organization=organization, key=key)
    if record.fingerprint != fingerprint:
        raise Conflict(
            "This Idempotency-Key was already used with a different request.", "idempotency_key_reused"
        )
    if record.status_code is None:
        raise Conflict(
            "A request with this Idempotency-Key is still being processed.", "idempotency_in_progress"
        )
    response = Response(record.response_body, status=record.status_code)
    response["Idempotent-Replayed"] = "true"
    return response


def prune_idempotency_records() -> int:
    cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_WINDOW_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
