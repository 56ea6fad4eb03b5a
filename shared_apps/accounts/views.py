"""Workspaces list and the login handoff between the root domain and workspace hosts. Thin: logic in services."""

from __future__ import annotations

from urllib.parse import urlencode

from allauth.account.models import EmailConfirmationHMAC
from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from shared_apps.accounts import handoff
from shared_apps.accounts.binding import binding_cookie_delete, binding_cookie_set
from shared_apps.accounts.http import AuthenticatedRequest
from shared_apps.accounts.selectors import membership_for, membership_list_for_user
from shared_apps.accounts.selectors import workspace_switcher as workspace_switcher_items
from shared_apps.accounts.services import sessions_end_all, user_time_zone_detect
from shared_apps.core.errors import ApplicationError
from tenant_apps.audit.actions import AuditAction
from tenant_apps.audit.services import audit_record
from tenants.http import RoutedRequest
from tenants.links import public_path, workspace_path
from tenants.selectors import root_url, tenant_get_by_slug, tenant_url


def _workspace_items(request: AuthenticatedRequest) -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    for membership in membership_list_for_user(user=request.user):
        domains = sorted(membership.tenant.domains.all(), key=lambda d: (not d.is_primary, d.domain))
        slug = domains[0].slug if domains else None
        items.append(
            {
                "membership": membership,
                "url": tenant_url(domains[0].domain) if domains else None,
                "open_url": reverse("workspace_open", kwargs={"slug": slug}) if slug else None,
            }
        )
    return items


@login_required
def workspaces(request: AuthenticatedRequest) -> HttpResponse:
    return render(request, "public/workspaces.html", {"items": _workspace_items(request)})


@login_required
def workspaces_continue(request: AuthenticatedRequest) -> HttpResponse:
    """Where the root sends a person who just signed in: their only workspace, their list, or "create one"."""
    items = _workspace_items(request)
    if not items:
        return redirect("signup_workspace")
    if len(items) == 1 and items[0]["open_url"]:
        return redirect(str(items[0]["open_url"]))
    return redirect("workspaces")


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def workspace_open(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    """Root domain: hand the signed-in person to a workspace host (see `shared_apps.accounts.handoff`).

    Without `binding`, the browser first goes to the workspace host to receive the cookie a ticket will be bound to;
    with it (on the way back), a ticket bound to that cookie is minted and the browser sent on to redeem it.

    `confirm=1` (the workspace's sign-in page asked: "continue with your Atrium account") first shows "Continue as
    <email>" here, where the session is, and mints the ticket only on that page's POST.
    """
    data = request.POST if request.method == "POST" else request.GET
    next_path = data.get("next", "/")
    binding = data.get("binding", "")
    try:
        tenant = tenant_get_by_slug(slug=slug)
        if binding and data.get("confirm") and request.method != "POST":
            if membership_for(user_id=request.user.pk, tenant_id=tenant.pk) is None:
                raise handoff.HandoffRefused(_("You are not a member of that workspace."))
            context = {"tenant": tenant, "binding": binding, "next": handoff.safe_next_path(next_path)}
            return render(request, "public/continue_as.html", context)
        if binding:
            url = handoff.handoff_create(user=request.user, tenant=tenant, binding=binding, next_path=next_path)
        else:
            url = handoff.handoff_start_url(user=request.user, tenant=tenant, next_path=next_path)
    except ApplicationError:
        # Unknown workspace and not-a-member look the same: nothing is learnt about other workspaces.
        reason = "You are not a member of that workspace."
        context = {"reason": reason, "items": _workspace_items(request)}
        return render(request, "errors/handoff_refused.html", context, status=404)
    return HttpResponseRedirect(url)


@never_cache
@require_http_methods(["GET", "POST"])
def handoff_start(request: RoutedRequest) -> HttpResponse:
    """Workspace host: give this browser the cookie its ticket will be bound to, then ask the root for the ticket.
    POST: the sign-in page's "Continue with your Atrium account" (the root then asks "Continue as <email>?")."""
    route = request.route
    if route.host != route.primary_host:  # tickets are redeemed on the primary host, where the cookie must live
        path = request.get_full_path() if request.method == "GET" else workspace_path("login")
        return HttpResponseRedirect(tenant_url(route.primary_host) + path)
    slug = route.primary_host.removesuffix("." + settings.BASE_DOMAIN)
    value, binding = handoff.binding_new()
    data = request.POST if request.method == "POST" else request.GET
    params = {"binding": binding, "next": handoff.safe_next_path(data.get("next"))}
    if request.method == "POST":
        params["confirm"] = "1"
    query = urlencode(params)
    response = HttpResponseRedirect(f"{root_url()}{public_path('workspace_open', slug=slug)}?{query}")
    binding_cookie_set(response, value)
    return response


@never_cache
@require_GET
def handoff_consume(request: RoutedRequest) -> HttpResponse:
    """Workspace host: redeem the ticket (in the browser that asked for it) and start this host's own session."""
    route = request.route
    try:
        user, next_path = handoff.handoff_consume(
            token=request.GET.get("token", ""),
            tenant_id=route.tenant_id,
            cookie_value=request.COOKIES.get(handoff.BINDING_COOKIE, ""),
        )
    except handoff.HandoffRefused as exc:
        return render(request, "errors/handoff_refused.html", {"reason": exc.message}, status=403)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    audit_record(tenant=route, action=AuditAction.AUTH_HANDOFF, actor=user, target=user)
    response = redirect(next_path)
    binding_cookie_delete(response)
    return response


@login_required
@require_POST
def logout_everywhere(request: AuthenticatedRequest) -> HttpResponse:
    """End every session of this account, on every host."""
    sessions_end_all(user=request.user)
    return redirect("/")


@never_cache
def email_verify(request: RoutedRequest, key: str) -> HttpResponse:
    """Root domain: the link an operator's "resend verification" emails. GET shows whose address it verifies; POST
    verifies it (no sign-in: the person then signs in as usual). A wrong, used or expired link says so."""

    confirmation = EmailConfirmationHMAC.from_key(key) if len(key) <= 256 and "\x00" not in key else None
    if confirmation is None:
        return render(request, "account/verify_email_link.html", {"state": "invalid"}, status=404)
    if request.method == "POST":
        confirmation.confirm(request)
        return render(
            request, "account/verify_email_link.html", {"state": "done", "email": confirmation.email_address.email}
        )
    return render(
        request, "account/verify_email_link.html", {"state": "confirm", "email": confirmation.email_address.email}
    )


@never_cache
@login_required
@require_GET
def workspace_switcher(request: AuthenticatedRequest) -> HttpResponse:
    """Workspace host: the "Switch workspace" menu's list (fetched when the menu first opens). Each entry opens that
    workspace through the home page's handoff; this one is marked current."""
    route = request.route
    current = route.primary_host.removesuffix("." + settings.BASE_DOMAIN)
    items = [
        {
            "name": item.name,
            "role": item.role,
            "current": item.slug == current,
            "url": root_url() + public_path("workspace_open", slug=item.slug),
        }
        for item in workspace_switcher_items(user=request.user)
    ]
    return render(request, "tenant/_switcher.html", {"items": items, "all_url": root_url() + public_path("workspaces")})


@require_POST
def time_zone_detect(request: AuthenticatedRequest) -> HttpResponse:
    """The browser's time zone (`Intl…resolvedOptions().timeZone`), posted once by static/js/timezone.js while the
    person has none: kept only then and only if it is a known zone name. 204 either way; 401 without a person."""
    if not request.user.is_authenticated:
        return HttpResponse(status=401)
    # Taken as sent: only an exact zone name is kept (a NUL, a path or a long string matches none).
    user_time_zone_detect(user=request.user, time_zone=request.POST.get("time_zone", ""))
    return HttpResponse(status=204)
