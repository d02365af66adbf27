"""DRF permission: read scope for safe methods, write scope for the rest."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, permissions
from rest_framework.request import Request

from accounts.auth import get_actor


class HasScope(permissions.BasePermission):
    """Requires an authenticated caller whose key scopes (or user role) allow the method.

    A view may set `required_scope` to ask for a scope other than the method's default.
    """

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        actor = get_actor(request)
        needed = getattr(view, "required_scope", None) or (
            "read" if request.method in permissions.SAFE_METHODS else "write"
        )
        if not actor.can(needed):
            raise exceptions.PermissionDenied(
                f"This {'API key' if actor.api_key else 'user'} lacks the '{needed}' permission.",
                code="insufficient_scope",
            )
        return True
