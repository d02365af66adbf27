"""Who is asking, for every dashboard view: the user's membership and role, the name events
give them, and small facts of the request (does it want JSON, a route's prefix for the browser)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.urls import reverse

from accounts.auth import actor_for_user
from accounts.models import Membership

NO_ORGANISATION = "Your account is not part of an organisation yet. Ask an administrator to add you to one."
READ_ONLY = "Your role can look at deals but not change them. Ask an administrator for the underwriter role."


def require_member(request: HttpRequest) -> Membership:
    """The user's membership; 403 for a user who belongs to no organisation."""
    membership: Membership | None = getattr(request.user, "membership", None)
    if membership is None:
        raise PermissionDenied(NO_ORGANISATION)
    return membership


def require_writer(request: HttpRequest) -> Membership:
    """The membership of an underwriter or admin; 403 for a viewer.

    Checked before the object is looked up, so a viewer learns nothing about which ids exist.
    """
    membership = require_member(request)
    if not membership.can_write:
        raise PermissionDenied(READ_ONLY)
    return membership


def actor_label(request: HttpRequest) -> str:
    """How this user is named in events (`created_by`, `decided_by`): the same as over the API."""
    actor = actor_for_user(request.user)
    if actor is None:
        raise PermissionDenied(NO_ORGANISATION)
    return actor.label


def url_prefix(name: str, placeholder: str | int) -> str:
    """The part of a route before its one argument, for the browser to append an id to."""
    url = reverse(name, args=[placeholder])
    return url.removesuffix(str(placeholder))


def wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")
