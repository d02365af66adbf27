"""Who is asking, for every dashboard view: the user's membership and role, the name events
give them, and small facts of the request (does it want JSON, a route's prefix for the browser)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Concatenate, ParamSpec

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_http_methods

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


P = ParamSpec("P")
MembershipView = Callable[Concatenate[HttpRequest, Membership, P], HttpResponse]
RequestView = Callable[Concatenate[HttpRequest, P], HttpResponse]


def _membership_view(
    method: str, require: Callable[[HttpRequest], Membership]
) -> Callable[[MembershipView[P]], RequestView[P]]:
    """A view for signed-in users of one HTTP method, given the membership `require` checked."""

    def decorate(view: MembershipView[P]) -> RequestView[P]:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
            return view(request, require(request), *args, **kwargs)

        return login_required(require_http_methods([method])(wrapped))

    return decorate


#: A page any member may read.
member_page = _membership_view("GET", require_member)
#: A change only an underwriter or admin may make; refused before any object is looked up.
writer_action = _membership_view("POST", require_writer)


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
