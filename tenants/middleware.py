"""Request routing: Host → tenant schema and URLconf, then the tenant-state gate."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import cast

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext as _

from shared_apps.core.api import error_response, is_api_path
from tenants import routing, selectors
from tenants.db import connection
from tenants.http import RoutedRequest
from tenants.models import TenantStatus
from tenants.selectors import tenant_url

GetResponse = Callable[[HttpRequest], HttpResponse]

# Reachable whatever the tenant's state: signing out, and the files the state pages themselves use.
# The scripts' translation catalogue says nothing of the workspace: the pages that refuse (suspended, deleted) load it.
_ALWAYS_OPEN = ("/logout/", "/static/", "/i18n/js/")
# Also reachable while a deletion is pending: signing in (password, login code, second factor, a forgotten password,
# the handoff from the root) so that an owner can reach the restore button, and restoring. Nothing else: a member of a
# workspace waiting to be deleted cannot use its account pages (email, password change, MFA, sessions) either.
_OPEN_DURING_DELETION = (
    "/login/",
    "/accounts/login/",
    "/accounts/logout/",
    "/accounts/2fa/authenticate/",
    "/accounts/password/reset/",
    "/accounts/confirm-email/",
    "/auth/start/",
    "/auth/handoff/",
    "/restore/",
)
# A workspace whose payment is overdue or whose subscription ended keeps its billing page (and signing in to reach it)
# open, so that an owner can always pay. The page itself lets owners only in.
_BILLING = ("/settings/billing/",)
_SIGN_IN = tuple(p for p in _OPEN_DURING_DELETION if p != "/restore/")
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class TenantRoutingMiddleware:
    """Points the connection at the request's tenant schema and picks the URLconf.

    Unknown hosts get the "no workspace here" page, never the public site. The root domain gets the public URLconf.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, plain_request: HttpRequest) -> HttpResponse:
        request = cast(RoutedRequest, plain_request)
        host = routing.request_host(request)
        route = routing.resolve(host)
        if route is None or route.status == TenantStatus.SPARE:
            connection.set_schema_to_public()
            request.urlconf = settings.PUBLIC_SCHEMA_URLCONF
            if is_api_path(request.path):
                return error_response(
                    status=404, code="unknown_host", message=_("There is no workspace at this address.")
                )
            return render(request, "errors/unknown_host.html", {"host": host}, status=404)
        if route.redirect_until and route.redirect_until > time.time():
            # A subdomain renamed away: same path on the workspace's primary host, for the grace period (302: the
            # old name may belong to someone else later).
            return HttpResponseRedirect(tenant_url(route.primary_host) + request.get_full_path())
        # `request.route` (frozen) is what routing and the tenancy code read. `request.tenant` is there for
        # django-tenants, the libraries built on it and views that need a model instance: a Tenant of this request's
        # own, read-only (see Route.tenant).
        request.route = route
        tenant = route.tenant()
        request.tenant = tenant
        if route.is_public:
            connection.set_schema_to_public()
            request.urlconf = settings.PUBLIC_SCHEMA_URLCONF
        else:
            connection.set_tenant(tenant)
            request.urlconf = settings.ROOT_URLCONF
        return self.get_response(request)


class TenantStatusMiddleware:
    """Tenant state gates the request: suspended → suspension page; scheduled deletion → 410; read-only (payment
    overdue) → pages read, writes refused with a page that says why (402), billing open; suspended for non-payment →
    a page that sends owners to billing, which stays open. On the API's paths the same answers come as JSON."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        route: routing.Route | None = getattr(request, "route", None)
        if route is not None and not route.is_public and not request.path.startswith(_ALWAYS_OPEN):
            if route.status == TenantStatus.SUSPENDED:
                return self._refuse(request, "errors/suspended.html", 403, "workspace_suspended")
            if route.status == TenantStatus.SCHEDULED_DELETION and not request.path.startswith(_OPEN_DURING_DELETION):
                return self._refuse(request, "errors/scheduled_deletion.html", 410, "workspace_scheduled_for_deletion")
            if (
                route.status == TenantStatus.READ_ONLY
                and request.method not in _SAFE_METHODS
                and not request.path.startswith(_BILLING + _SIGN_IN)
            ):
                return self._refuse(request, "errors/read_only.html", 402, "workspace_read_only")
            if route.status == TenantStatus.BILLING_SUSPENDED and not request.path.startswith(_BILLING + _SIGN_IN):
                return self._refuse(request, "errors/billing_suspended.html", 403, "workspace_billing_suspended")
        return self.get_response(request)

    @staticmethod
    def _refuse(request: HttpRequest, template: str, status: int, code: str) -> HttpResponse:
        if is_api_path(request.path):
            return error_response(status=status, code=code, message=_API_MESSAGES[code])
        route: routing.Route = request.route  # type: ignore[attr-defined]
        # The page says why and until when (one query: these pages are rare, the route snapshot has no dates).
        context = {
            "workspace_state": selectors.status_facts(tenant_id=route.tenant_id),
            "support_email": settings.SUPPORT_EMAIL,
        }
        return render(request, template, context, status=status)


_API_MESSAGES = {
    "workspace_suspended": "This workspace is suspended.",
    "workspace_scheduled_for_deletion": "This workspace is scheduled for deletion; an owner can restore it.",
    "workspace_read_only": "This workspace is read-only until its overdue payment is made: reading works, changes "
    "are refused. An owner can pay on the billing page.",
    "workspace_billing_suspended": "This workspace is suspended because its subscription ended or was left unpaid. "
    "An owner can pay on the billing page.",
}
