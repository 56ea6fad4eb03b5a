"""While an operator is signed in to a workspace as a member: the rules of every request.

On a workspace host, for a session that an impersonation started (`IMPERSONATION_SESSION_KEY`):

- the session must still be live (not ended, within its time limit, the operator still active staff, the member not
  staff): otherwise its end is recorded, this host's session is dropped and the browser goes back to the admin;
- signing out ends the impersonation (and returns to the admin);
- the member's account pages (password, two-factor, email addresses, sessions, API keys), accepting invitations and
  the ordinary sign-in handoff are refused;
- writes (anything but GET, HEAD, OPTIONS) are refused until the operator stepped up;
- the page carries the banner (`request.impersonation`, read by the template context), and audit entries written
  meanwhile name the operator too (the request context's `impersonator`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import cast
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone

from shared_apps.accounts.sessions import SESSION_TENANT_KEY
from shared_apps.core import context
from shared_apps.workspaces.impersonation import impersonation_end
from shared_apps.workspaces.models import ImpersonationEnd, ImpersonationSession
from tenants.http import RoutedRequest
from tenants.links import public_path
from tenants.selectors import root_url

IMPERSONATION_SESSION_KEY = "atrium_impersonation"

# Never reached while impersonating: the member's own account (allauth's pages: password, two-factor, email
# addresses, sessions, reauthentication, social connections; the profile page and its session list), API keys,
# signing out everywhere, accepting invitations, and the ordinary sign-in paths.
BLOCKED_PREFIXES = (
    "/accounts/",
    "/settings/profile/",
    "/settings/api",
    "/logout/everywhere/",
    "/invitations/",
    "/login/",
    "/auth/start/",
    "/auth/handoff/",
)
SIGN_OUT_PATHS = ("/logout/", "/accounts/logout/")
_OWN_PATHS = ("/impersonation/",)
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def admin_url_for(tenant_id: int) -> str:
    """Where the operator returns: the workspace's page in the admin."""
    return root_url() + public_path("admin:tenants_tenant_change", object_id=tenant_id)


@dataclass(frozen=True)
class Banner:
    """What the banner on every page shows and links to."""

    operator: str
    member: str
    tenant_name: str
    writes_enabled: bool
    expires_at: datetime
    seconds_left: int
    writes_url: str
    end_path: str

    @property
    def minutes_left(self) -> int:
        return max(1, (self.seconds_left + 59) // 60)


class ImpersonationMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, plain_request: HttpRequest) -> HttpResponse:
        request = cast(RoutedRequest, plain_request)
        route = getattr(request, "route", None)
        if route is None or route.is_public or not request.session.session_key:
            return self.get_response(request)
        raw = request.session.get(IMPERSONATION_SESSION_KEY)
        if not raw or request.session.get(SESSION_TENANT_KEY) != route.tenant_id:
            # No impersonation; or a session made for another host (a replayed cookie), which the membership
            # middleware treats as anonymous here without touching it.
            return self.get_response(request)
        session = self._load(raw)
        user = request.user
        now = timezone.now()
        why = self._invalid(session, route.tenant_id, user, now)
        if why is not None:
            return self._leave(request, session, why, route.tenant_id)
        assert session is not None  # noqa: S101  (_invalid returned None)
        if request.path in SIGN_OUT_PATHS:
            return self._leave(request, session, ImpersonationEnd.ENDED, route.tenant_id)
        request.impersonation_session = session  # type: ignore[attr-defined]
        request.impersonation = Banner(  # type: ignore[attr-defined]
            operator=session.operator_label,
            member=session.member.email,
            tenant_name=route.name,
            writes_enabled=session.writes_enabled_at is not None,
            expires_at=session.expires_at,
            seconds_left=session.seconds_left,
            writes_url=root_url()
            + public_path("admin:impersonation_writes", session_id=session.pk)
            + "?"
            + urlencode({"next": request.get_full_path()[:1000]}),
            end_path="/impersonation/end/",
        )
        if request.path.startswith(BLOCKED_PREFIXES):
            return render(request, "impersonation/blocked.html", {"operator": session.operator_label}, status=403)
        if (
            request.method not in _SAFE_METHODS
            and session.writes_enabled_at is None
            and not request.path.startswith(_OWN_PATHS)
        ):
            return self._read_only(request, session)
        with context.bound(replace(context.current(), impersonator=session.operator_label)):
            response = self.get_response(request)
        response["Cache-Control"] = "private, no-store"
        return response

    @staticmethod
    def _load(raw: object) -> ImpersonationSession | None:
        try:
            key = uuid.UUID(str(raw))
        except ValueError:
            return None
        return ImpersonationSession.objects.select_related("operator", "member").filter(pk=key).first()

    @staticmethod
    def _invalid(
        session: ImpersonationSession | None, tenant_id: int, user: object, now: datetime
    ) -> ImpersonationEnd | None:
        if session is None or session.ended_at is not None or session.started_at is None:
            return ImpersonationEnd.INVALID
        if session.expires_at <= now:
            return ImpersonationEnd.EXPIRED
        operator = session.operator
        member_id = getattr(user, "pk", None)
        if (
            session.tenant_id != tenant_id
            or member_id != session.member_id
            or operator is None
            or not (operator.is_active and operator.is_staff)
            or session.member.is_staff
            or session.member.is_superuser
        ):
            return ImpersonationEnd.INVALID
        return None

    @staticmethod
    def _leave(
        request: HttpRequest, session: ImpersonationSession | None, why: ImpersonationEnd, tenant_id: int
    ) -> HttpResponse:

        if session is not None and session.ended_at is None:
            impersonation_end(session=session, why=why)
        request.session.flush()
        if request.headers.get("HX-Request"):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = admin_url_for(tenant_id)
            return response
        return HttpResponseRedirect(admin_url_for(tenant_id))

    @staticmethod
    def _read_only(request: HttpRequest, session: ImpersonationSession) -> HttpResponse:
        text = (
            "Read-only: you are signed in as a member to see what they see, so nothing was changed. "
            "Allow changes from the banner (with a reason) to make one."
        )
        if request.headers.get("HX-Request"):
            # htmx swaps nothing on an error; reload the page instead, where the message shows.
            messages.warning(request, text)
            response = HttpResponse(status=403)
            response["HX-Refresh"] = "true"
            return response
        return render(request, "impersonation/read_only.html", {"operator": session.operator_label}, status=403)
