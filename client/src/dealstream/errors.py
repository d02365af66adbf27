"""Exceptions raised by the client: one class per kind of failure the API reports."""

from __future__ import annotations

from typing import Any

__all__ = [
    "APIConnectionError",
    "AuthenticationError",
    "ConflictError",
    "DealstreamError",
    "NotFoundError",
    "PermissionDeniedError",
    "QuotaExceededError",
    "RateLimitError",
    "ServerError",
    "StreamError",
    "ValidationError",
]


class DealstreamError(Exception):
    """Base of every error the client raises.

    For an error answered by the API, `status` is the HTTP status, `code` and `message`
    come from the error envelope and `request_id` identifies the request in the server's
    logs (quote it when reporting a problem). `body` is the parsed response body.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str = "",
        request_id: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id
        self.body = body

    def __str__(self) -> str:
        details = [str(part) for part in (self.status, self.code) if part]
        if self.request_id:
            details.append(f"request id {self.request_id}")
        return f"{self.message} ({', '.join(details)})" if details else self.message


class ValidationError(DealstreamError):
    """400: the request was malformed; `fields` maps field names to their messages."""

    def __init__(self, message: str, *, fields: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.fields: dict[str, Any] = fields or {}


class AuthenticationError(DealstreamError):
    """401: the API key is missing, unknown, revoked or expired."""


class QuotaExceededError(DealstreamError):
    """402: the organisation's monthly job limit is used up."""


class PermissionDeniedError(DealstreamError):
    """403: the API key lacks the scope this call needs."""


class NotFoundError(DealstreamError):
    """404: no such object in the caller's organisation."""


class ConflictError(DealstreamError):
    """409: the object's state forbids this (e.g. deciding a deal twice)."""


class RateLimitError(DealstreamError):
    """429: too many requests or streams; `retry_after` is the server's advice in seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(DealstreamError):
    """5xx: the server failed; retried automatically before it is raised."""


class APIConnectionError(DealstreamError):
    """The server could not be reached, or the connection failed, after the retries."""


class StreamError(DealstreamError):
    """A stream broke in a way that cannot be resumed (the valuation streams have no ids)."""
