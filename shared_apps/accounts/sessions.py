"""Each session records the host it was made for; presented on another host (session cookies are host-only, so only
a replayed cookie gets there), it is worth nothing: TenantMembershipMiddleware treats the request as anonymous."""

from __future__ import annotations

from typing import Any

from allauth.usersessions.models import UserSession
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest

SESSION_TENANT_KEY = "atrium_tenant_id"


def session_workspace_id(request: HttpRequest) -> int | None:
    """The workspace a request's host belongs to (0 for the root domain), or None outside routing."""
    route = getattr(request, "route", None)
    return route.tenant_id if route is not None else None


@receiver(user_logged_in, dispatch_uid="atrium.bind_session_to_host")
def bind_session_to_host(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is None or not hasattr(request, "session"):
        return
    tenant_id = session_workspace_id(request)
    if tenant_id is not None:
        request.session[SESSION_TENANT_KEY] = tenant_id
        # allauth's session list hears only its own login signal; sign-ins it did not run (the handoff) are recorded
        # here, so "sign out everywhere" and the sessions page see them too. Idempotent (keyed by session).

        UserSession.objects.create_from_request(request)
