"""The cookie a login handoff's ticket is bound to: set on the workspace host by the page that asks for a ticket,
read there when the ticket comes back (the browser that asked is the only one it signs in). Used by the sign-in pages
and by impersonation's."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse

from shared_apps.accounts import handoff
from tenants.links import workspace_path

# Long enough for a sign-in on the root (password, MFA) between asking for a ticket and redeeming it.
BINDING_COOKIE_MAX_AGE = 15 * 60


def _binding_cookie_path() -> str:
    """The cookie goes only where it is read: /auth/ (the handoff's own paths)."""
    return workspace_path("handoff_consume").rsplit("/", 2)[0] + "/"


def binding_cookie_set(response: HttpResponse, value: str) -> None:
    """Give the browser the cookie its coming ticket will be bound to (host-only, HttpOnly, under /auth/)."""
    response.set_cookie(
        handoff.BINDING_COOKIE,
        value,
        max_age=BINDING_COOKIE_MAX_AGE,
        path=_binding_cookie_path(),
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def binding_cookie_delete(response: HttpResponse) -> None:
    response.delete_cookie(handoff.BINDING_COOKIE, path=_binding_cookie_path())
