"""What the API itself checks before a view runs: a member of this workspace is calling, a read-only key only reads,
and the endpoints of workspace administration need the role the permission matrix names. Everything about projects,
tasks and comments is `tenant_apps/projects/permissions.py`'s, asked by the selectors and services the views call."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from shared_apps.accounts.permissions import Action, can
from tenant_apps.api.authentication import ApiCaller

READ_ONLY_KEY = "This API key is read-only: make a key with read and write scope to change things."


def caller_of(request: Request) -> ApiCaller:
    caller = request.auth
    assert isinstance(caller, ApiCaller)  # noqa: S101 (MemberWithScope ran first)
    return caller


class MemberWithScope(BasePermission):
    """A member (by key or session); writes need a key with write scope."""

    message = "Sign in, or send an API key: Authorization: Bearer <key>."

    def has_permission(self, request: Request, view: Any) -> bool:
        caller = request.auth
        if not isinstance(caller, ApiCaller):
            return False
        if request.method in SAFE_METHODS or caller.can_write:
            return True
        self.message = READ_ONLY_KEY
        self.code = "read_only_key"
        return False


def action_allowed(action: Action) -> type[BasePermission]:
    """A permission class for one row of the workspace permission matrix (the service checks again)."""

    class ActionAllowed(BasePermission):
        message = "Your role in this workspace doesn't allow that."

        def has_permission(self, request: Request, view: Any) -> bool:
            caller = request.auth
            return isinstance(caller, ApiCaller) and can(caller.role, action)

    ActionAllowed.__name__ = f"ActionAllowed_{action.name}"
    return ActionAllowed
