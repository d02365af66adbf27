"""Who is calling: API keys (Bearer header, or query string on streams) and dashboard sessions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from django.http import HttpRequest
from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from accounts.models import KEY_PREFIXES, ApiKey, Organization, hash_key
from core.context import bind_principal

if TYPE_CHECKING:
    from django.contrib.auth.models import User

QUERY_KEY_PARAMS = ("token", "api_key")
MAX_KEY_LENGTH = 128


class AuthError(Exception):
    """A credential was presented and refused: always answered with 401."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Actor:
    """The authenticated caller, whichever way it authenticated."""

    organization: Organization
    api_key: ApiKey | None = None
    user: User | None = None

    def can(self, scope: str) -> bool:
        if self.api_key is not None:
            return self.api_key.has_scope(scope)
        if scope == "read":
            return True
        membership = getattr(self.user, "membership", None)
        return bool(membership and membership.can_write)

    @property
    def label(self) -> str:
        """How this caller is named in events such as `decided_by`."""
        if self.api_key is not None:
            return f"api_key:{self.api_key.name}"
        assert self.user is not None
        return self.user.email or self.user.get_username()


def presented_key(request: HttpRequest, *, allow_query: bool) -> str | None:
    """The key the request carries, or None; raises AuthError for a malformed presentation."""
    header = request.headers.get("Authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise AuthError("invalid_authorization", "Send the API key as 'Authorization: Bearer <key>'.")
        return value.strip()
    for param in QUERY_KEY_PARAMS:
        if param in request.GET:
            if not allow_query:
                raise AuthError(
                    "key_in_query_string",
                    "API keys in the query string are accepted on streaming endpoints only; "
                    "send 'Authorization: Bearer <key>'.",
                )
            return request.GET[param]
    return None


def authenticate_key(raw_key: str) -> ApiKey:
    """The usable key matching `raw_key`; raises AuthError otherwise."""
    if not raw_key.startswith(KEY_PREFIXES) or len(raw_key) > MAX_KEY_LENGTH:
        raise AuthError("invalid_api_key", "The API key is malformed.")
    key = ApiKey.objects.select_related("organization").filter(key_hash=hash_key(raw_key)).first()
    if key is None:
        raise AuthError("invalid_api_key", "The API key is not valid.")
    if key.revoked_at is not None:
        raise AuthError("api_key_revoked", "The API key has been revoked.")
    if key.expires_at is not None and key.expires_at <= timezone.now():
        raise AuthError("api_key_expired", "The API key has expired.")
    key.touch()
    bind_principal(org=key.organization_id, key_prefix=key.prefix)
    return key


def actor_for_user(user: Any) -> Actor | None:
    """The actor for a logged-in dashboard user, or None when the user has no organisation."""
    if not getattr(user, "is_authenticated", False):
        return None
    membership = getattr(user, "membership", None)
    if membership is None:
        return None
    bind_principal(org=membership.organization_id, key_prefix=None)
    return Actor(organization=membership.organization, user=cast("User", user))


class KeyUser:
    """Stands in for request.user on key-authenticated calls (keys have no Django user)."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False

    def __init__(self, key: ApiKey) -> None:
        self.key = key
        self.pk = None

    def __str__(self) -> str:
        return f"api_key:{self.key.name}"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """DRF authentication by `Authorization: Bearer dsk_…`; query-string keys are refused here."""

    def authenticate(self, request: Request) -> tuple[Any, ApiKey] | None:
        try:
            raw = presented_key(request._request, allow_query=False)
            if raw is None:
                return None
            key = authenticate_key(raw)
        except AuthError as exc:
            raise exceptions.AuthenticationFailed(exc.message, code=exc.code) from None
        return KeyUser(key), key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="dealstream"'


def get_actor(request: Request) -> Actor:
    """The actor of an authenticated DRF request (HasScope has already let it through)."""
    if isinstance(request.auth, ApiKey):
        return Actor(organization=request.auth.organization, api_key=request.auth)
    actor = actor_for_user(request.user)
    if actor is None:
        raise exceptions.PermissionDenied("This user belongs to no organisation.", code="no_organization")
    return actor
