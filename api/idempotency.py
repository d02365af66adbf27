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
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.auth import get_actor
from accounts.models import Organization
from api.models import IdempotencyRecord
from core.errors import Conflict, Invalid

MAX_KEY_LENGTH = 255
REPLAYED_HEADER = "Idempotent-Replayed"
ViewMethod = TypeVar("ViewMethod", bound=Callable[..., Response])


def request_fingerprint(request: Request) -> str:
    """A digest of what the request asks for: method, path and parsed body (files by content)."""
    data = request.data
    if not hasattr(data, "lists"):
        return body_fingerprint(request.method or "", request.path, data)
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
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
    return digest.hexdigest()


def body_fingerprint(method: str, path: str, data: Any) -> str:
    """A digest of a JSON request: method, path and body, insensitive to key order."""
    digest = hashlib.sha256(f"{method} {path}\n".encode())
    digest.update(json.dumps(data, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def check_key(key: str) -> None:
    if len(key) > MAX_KEY_LENGTH:
        raise Invalid(f"Idempotency-Key is at most {MAX_KEY_LENGTH} characters.", "invalid_idempotency_key")


def claim(organization: Organization, key: str, fingerprint: str) -> tuple[IdempotencyRecord, bool]:
    """Take `key` for this request: `(record, True)` when it is the first to use it.

    `(earlier record, False)` when a request with the same key and fingerprint already
    finished: answer with its stored response. Raises Conflict (409) when the key was used
    for a different request, or when that request is still running.
    """
    window_start = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_WINDOW_HOURS)
    IdempotencyRecord.objects.filter(organization=organization, key=key, created_at__lt=window_start).delete()
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(
                organization=organization, key=key, fingerprint=fingerprint
            )
        return record, True
    except IntegrityError:
        pass
    earlier = IdempotencyRecord.objects.get(organization=organization, key=key)
    if earlier.fingerprint != fingerprint:
        raise Conflict(
            "This Idempotency-Key was already used with a different request.", "idempotency_key_reused"
        )
    if earlier.status_code is None:
        raise Conflict(
            "A request with this Idempotency-Key is still being processed.", "idempotency_in_progress"
        )
    return earlier, False


def finish(record: IdempotencyRecord, status_code: int, body: Any) -> None:
    """Store the response that a retry with the same key will get."""
    record.status_code = status_code
    record.response_body = body
    _again_on_a_new_connection(lambda: record.save(update_fields=["status_code", "response_body"]))


def release(record: IdempotencyRecord) -> None:
    """Forget a claim whose request failed on our side, so that a retry runs it again.

    Safe to call twice: a stream's own cleanup and its caller's may both get there.
    """
    _again_on_a_new_connection(lambda: IdempotencyRecord.objects.filter(pk=record.pk).delete())


def _again_on_a_new_connection(write: Callable[[], object]) -> None:
    """`write()`, tried once more on a new connection when it fails outside a transaction.

    The request's connection died (a terminated backend, a database restart): an answer not
    stored would give the client 503 for what was accepted, and a claim not freed or not
    answered every retry 409 "in progress", for the whole idempotency window.
    """
    try:
        write()
    except DatabaseError:
        if connection.in_atomic_block:
            raise
        connection.close()
        write()


def idempotent(view_method: ViewMethod) -> ViewMethod:
    """Decorate a DRF view's `post` so an `Idempotency-Key` header makes it safe to retry."""

    @functools.wraps(view_method)
    def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get("Idempotency-Key")
        if not key:
            return view_method(view, request, *args, **kwargs)
        check_key(key)
        record, first = claim(get_actor(request).organization, key, request_fingerprint(request))
        if not first:
            replayed = Response(record.response_body, status=record.status_code)
            replayed[REPLAYED_HEADER] = "true"
            return replayed
        try:
            response = view_method(view, request, *args, **kwargs)
        except Exception:
            release(record)
            raise
        if response.status_code >= 500:
            release(record)
        else:
            finish(record, response.status_code, response.data)
        return response

    return wrapper  # type: ignore[return-value]


def prune_idempotency_records() -> int:
    cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_WINDOW_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
