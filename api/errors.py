"""The HTTP error adapter: every error, domain (core.errors) or DRF's, as the JSON envelope
`{"error": {"code", "message", "fields"}, "request_id"}`."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.csrf import csrf_failure as default_csrf_failure
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from api.ratelimit import count_refused
from core.context import request_id_var
from core.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    QuotaExceeded,
    TooLarge,
    Unprocessable,
    Unsupported,
)

logger = logging.getLogger(__name__)

# DRF's codes, renamed where a client-facing name reads better.
_CODE_NAMES = {
    "not_authenticated": "unauthenticated",
    "authentication_failed": "unauthenticated",
    "permission_denied": "forbidden",
    "parse_error": "malformed_request",
    "throttled": "rate_limited",
    "invalid": "invalid_request",
}

TRANSIENT_RETRY_AFTER_SECONDS = 1
RATE_LIMITED_MESSAGE = "Too many requests; retry after the Retry-After delay."
INTERNAL_MESSAGE = "Something went wrong on our side; it has been logged."


# The one place a domain error gets its HTTP status: the class nearest in the error's MRO wins,
# so a domain's own error class (say, a failed valuation that is `Invalid`) needs no entry.
STATUS_OF: dict[type[DomainError], int] = {
    Invalid: status.HTTP_400_BAD_REQUEST,
    QuotaExceeded: status.HTTP_402_PAYMENT_REQUIRED,
    Forbidden: status.HTTP_403_FORBIDDEN,
    NotFound: status.HTTP_404_NOT_FOUND,
    Conflict: status.HTTP_409_CONFLICT,
    TooLarge: status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    Unsupported: status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    Unprocessable: status.HTTP_422_UNPROCESSABLE_ENTITY,
}


def status_of(exc: DomainError) -> int:
    """The HTTP status a domain error is answered with."""
    for kind in type(exc).__mro__:
        if kind in STATUS_OF:
            return STATUS_OF[kind]
    raise TypeError(f"{type(exc).__name__} is no kind of error listed in STATUS_OF")


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "error": {"code": code, "message": message, "fields": fields or {}},
        "request_id": request_id_var.get(),
    }


def json_error(
    status_code: int, code: str, message: str, fields: dict[str, Any] | None = None
) -> JsonResponse:
    """A plain Django JSON error, for views outside DRF (streams, health, handlers)."""
    return JsonResponse(error_body(code, message, fields), status=status_code)


def domain_error_response(exc: DomainError) -> JsonResponse:
    """A domain error as a plain Django JSON error, for views outside DRF (streams)."""
    return json_error(status_of(exc), exc.code, exc.message, exc.fields)


def _flatten_fields(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            fields.update(_flatten_fields(value, name))
    elif isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            fields[prefix or "non_field_errors"] = [str(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                fields.update(_flatten_fields(item, f"{prefix}[{index}]" if prefix else f"[{index}]"))
    else:
        fields[prefix or "non_field_errors"] = [str(detail)]
    return fields


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF exception handler producing the envelope; unexpected errors become a JSON 500."""
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message, exc.fields), status=status_of(exc))
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, OperationalError) and is_transient(exc):
        # The transaction was rolled back, nothing was stored, and the same request can
        # succeed a moment later. Say so instead of presenting it as a bug.
        logger.warning(
            "Transient database error in %s", context.get("view").__class__.__name__, exc_info=True
        )
        return Response(
            error_body("temporarily_unavailable", "The database is busy; nothing was saved. Retry shortly."),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(TRANSIENT_RETRY_AFTER_SECONDS)},
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("Unhandled error in %s", context.get("view").__class__.__name__)
        return Response(
            error_body("internal_error", INTERNAL_MESSAGE),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    assert isinstance(exc, exceptions.APIException)
    if isinstance(exc, exceptions.ValidationError):
        code, message = "invalid_request", "The request has invalid fields."
        fields: dict[str, Any] = _flatten_fields(exc.detail)
    else:
        codes = exc.get_codes()
        raw_code = codes if isinstance(codes, str) else "error"
        code = _CODE_NAMES.get(raw_code, raw_code)
        message = str(exc.detail) if not isinstance(exc.detail, (dict, list)) else "The request was refused."
        fields = {}
    if isinstance(
        exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed, exceptions.PermissionDenied)
    ):
        usage = count_refused(context["request"])
        if usage is not None and usage.limited:
            return Response(error_body("rate_limited", RATE_LIMITED_MESSAGE), status=429)
    if isinstance(exc, exceptions.Throttled):
        code, message = "rate_limited", RATE_LIMITED_MESSAGE
    response.data = error_body(code, message, fields)
    return response


# SQLSTATE classes of errors that go away by themselves: connection exceptions (08),
# transaction rollbacks such as deadlocks and serialisation failures (40), insufficient
# resources such as too many connections (53), operator intervention such as a server
# restart (57); plus lock_not_available.
_TRANSIENT_SQLSTATE_CLASSES = ("08", "40", "53", "57")
_LOCK_NOT_AVAILABLE = "55P03"


def is_transient(exc: OperationalError) -> bool:
    """Whether retrying the same request can succeed: a deadlock victim, a lost connection, a busy SQLite file.

    Not a missing table or column, which SQLite also reports as an OperationalError.
    """
    cause = exc.__cause__
    if isinstance(cause, sqlite3.OperationalError):
        return "locked" in str(cause)
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate is None:
        return True  # the driver lost or never had a connection: no server answer to classify
    return sqlstate[:2] in _TRANSIENT_SQLSTATE_CLASSES or sqlstate == _LOCK_NOT_AVAILABLE


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or request.path in {"/status", "/healthz", "/metrics"}


def _api_or_page(
    status_code: int, code: str, message: str, page: Callable[..., HttpResponse]
) -> Callable[..., HttpResponse]:
    """A Django error handler: the JSON envelope on API paths, Django's own page elsewhere."""

    def handler(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if _is_api(request):
            return json_error(status_code, code, message)
        return page(request, *args, **kwargs)

    return handler


not_found = _api_or_page(404, "not_found", "No such resource.", defaults.page_not_found)
server_error = _api_or_page(500, "internal_error", INTERNAL_MESSAGE, defaults.server_error)
bad_request = _api_or_page(
    400, "malformed_request", "The request could not be understood.", defaults.bad_request
)
permission_denied = _api_or_page(403, "forbidden", "You may not do this.", defaults.permission_denied)
csrf_failure = _api_or_page(
    403, "csrf_failed", "The session request is missing its CSRF token.", default_csrf_failure
)
