"""Domain errors: what went wrong, in the product's words, without an HTTP status.

Services and pipelines raise these; `api.errors` maps each kind to its status and the error
envelope in one place (`STATUS_OF`). `code` is the envelope's machine-readable code, the
message is meant for the client, `fields` names the offending input fields.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """A request the product refuses; subclasses say which kind of refusal it is."""

    default_code: ClassVar[str] = "error"

    def __init__(
        self, message: str, code: str | None = None, *, fields: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.fields = fields or {}


class Invalid(DomainError):
    """The request itself is at fault (a field, a file, a parameter)."""

    default_code = "invalid_request"


class NotFound(DomainError):
    """The object does not exist for this caller (another organisation's objects included)."""

    default_code = "not_found"


class Forbidden(DomainError):
    """The caller is known but may not do this (wrong kind of credential, missing scope)."""

    default_code = "forbidden"


class Conflict(DomainError):
    """The object's state does not allow this now (decided, finished, in flight, in use)."""

    default_code = "conflict"


class QuotaExceeded(DomainError):
    """The organisation has used up what its plan allows."""

    default_code = "quota_exceeded"


class TooLarge(DomainError):
    """An upload, or what it expands to, is over its size limit."""

    default_code = "upload_too_large"


class Unprocessable(DomainError):
    """The request is sound but what it names cannot be processed as asked (a page that cannot
    be fetched); the same request may succeed later."""

    default_code = "unprocessable"


class Unsupported(DomainError):
    """The upload is of a kind the product does not take (a file that is no statement)."""

    default_code = "unsupported_media_type"
