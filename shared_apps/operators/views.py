"""Pages of the workspace lifecycle on a workspace's own host."""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.middleware.csrf import rotate_token
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from shared_apps.accounts import handoff
from shared_apps.accounts.binding import binding_cookie_delete, binding_cookie_set
from shared_apps.accounts.models import LoginHandoff
from shared_apps.accounts.sessions import SESSION_TENANT_KEY
from shared_apps.core.errors import ApplicationError
from shared_apps.operators.middleware import IMPERSONATION_SESSION_KEY, admin_url_for
from shared_apps.workspaces import impersonation
from shared_apps.workspaces.models import ImpersonationEnd, ImpersonationSession
from tenants.http import RoutedRequest
from tenants.links import public_path
from tenants.selectors import root_url, tenant_url

# ---------------------------------------------------------------------------------------------------------------------
# Impersonation, on the workspace's host (see shared_apps/workspaces/impersonation.py for the whole flow)
# ---------------------------------------------------------------------------------------------------------------------


@never_cache
@require_GET
def impersonation_start(request: RoutedRequest) -> HttpResponse:
    """Give this browser the cookie the operator's ticket will be bound to, then ask the admin for the ticket."""
    route = request.route
    if route.host != route.primary_host:  # tickets are redeemed on the primary host, where the cookie must live
        return HttpResponseRedirect(tenant_url(route.primary_host) + request.get_full_path())
    try:
        session_id = uuid.UUID(request.GET.get("session", ""))
    except ValueError:
        return render(request, "errors/handoff_refused.html", {"reason": _("This link is not valid.")}, status=400)
    value, binding = handoff.binding_new()
    ticket = public_path("admin:impersonation_ticket", session_id=session_id)
    response = HttpResponseRedirect(f"{root_url()}{ticket}?{urlencode({'binding': binding})}")
    binding_cookie_set(response, value)
    return response


def _sign_in_as_member(request: HttpRequest, session: ImpersonationSession) -> None:
    """A session of this host for the member, made without `django.contrib.auth.login()`: no `user_logged_in`
    signal, so the member's `last_login` stays as it was, no sign-in is recorded as theirs and their list of sessions
    does not grow. The session expires with the impersonation."""
    member = session.member
    request.session.flush()
    request.session[SESSION_KEY] = member._meta.pk.value_to_string(member)
    request.session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    request.session[HASH_SESSION_KEY] = member.get_session_auth_hash()
    request.session[SESSION_TENANT_KEY] = session.tenant_id
    request.session[IMPERSONATION_SESSION_KEY] = str(session.pk)
    request.session.set_expiry(max(1, session.seconds_left))
    request.user = member
    rotate_token(request)


@never_cache
@require_GET
def impersonation_consume(request: RoutedRequest) -> HttpResponse:
    """Redeem the operator's ticket (in the browser that asked for it) and start the member's session here."""
    previous = request.session.get(IMPERSONATION_SESSION_KEY)
    try:
        ticket = handoff.handoff_redeem(
            token=request.GET.get("token", "")[:2048],
            tenant_id=request.route.tenant_id,
            cookie_value=request.COOKIES.get(handoff.BINDING_COOKIE, ""),
            purpose=LoginHandoff.Purpose.IMPERSONATION,
        )
        session = impersonation.impersonation_activate(ticket=ticket)
    except ApplicationError as exc:
        return render(request, "errors/handoff_refused.html", {"reason": exc.message}, status=403)
    if previous and previous != str(session.pk):
        old = ImpersonationSession.objects.filter(pk=previous).first()
        if old is not None:
            impersonation.impersonation_end(session=old, why=ImpersonationEnd.ENDED)
    _sign_in_as_member(request, session)
    response = redirect("home")
    binding_cookie_delete(response)
    return response


@require_POST
def impersonation_end(request: HttpRequest) -> HttpResponse:
    """End impersonation (the banner's button): recorded, this host's session gone, back to the admin."""
    session = getattr(request, "impersonation_session", None)
    if session is None:
        return redirect("home")
    impersonation.impersonation_end(session=session, why=ImpersonationEnd.ENDED)
    request.session.flush()
    return HttpResponseRedirect(admin_url_for(session.tenant_id))
