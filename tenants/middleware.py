"""Request routing: Host → tenant schema and URLconf, then the tenant-state gate."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render

from tenants import routing
from tenants.db import connection
from tenants.models import TenantStatus
from tenants.selectors import tenant_url

GetResponse = Callable[[HttpRequest], HttpResponse]

# Reachable whatever the tenant's state: signing out, and the files the state pages themselves use.
_ALWAYS_OPEN = ("/logout/", "/static/")
# Also reachable while a deletion is pending: signing in (so an owner can get to the restore button) and restoring.
_OPEN_DURING_DELETION = ("/login/", "/accounts/", "/auth/handoff/", "/restore/")


class TenantRoutingMiddleware:
    """Points the connection at the request's tenant schema and picks the URLconf.

    Unknown hosts get the "no workspace here" page, never the public site. The root domain gets the public URLconf.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        host = routing.request_host(request)
        route = routing.resolve(host)
        if route is None or route.status == TenantStatus.SPARE:
            connection.set_schema_to_public()
            request.urlconf = settings.PUBLIC_SCHEMA_URLCONF  # type: ignore[attr-defined]
            return render(request, "errors/unknown_host.html", {"host": host}, status=404)
        if route.redirect_until and route.redirect_until > time.time():
            # A subdomain renamed away: same path on the workspace's primary host, for the grace period (302: the
            # old name may belong to someone else later).
            return HttpResponseRedirect(tenant_url(route.primary_host) + request.get_full_path())
        # `request.route` (frozen) is what routing and the tenancy code read. `request.tenant` is there for
        # django-tenants, the libraries built on it and views that need a model instance: a Tenant of this request's
        # own, read-only (see Route.tenant).
        request.route = route  # type: ignore[attr-defined]
        tenant = route.tenant()
        request.tenant = tenant  # type: ignore[attr-defined]
        if route.is_public:
            connection.set_schema_to_public()
            request.urlconf = settings.PUBLIC_SCHEMA_URLCONF  # type: ignore[attr-defined]
        else:
            connection.set_tenant(tenant)
            request.urlconf = settings.ROOT_URLCONF  # type: ignore[attr-defined]
        return self.get_response(request)


class TenantStatusMiddleware:
    """Tenant state gates the request: suspended → suspension page; scheduled deletion → 410."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        route: routing.Route | None = getattr(request, "route", None)
        if route is not None and not route.is_public and not request.path.startswith(_ALWAYS_OPEN):
            if route.status == TenantStatus.SUSPENDED:
                return render(request, "errors/suspended.html", status=403)
            if route.status == TenantStatus.SCHEDULED_DELETION and not request.path.startswith(_OPEN_DURING_DELETION):
                return render(request, "errors/scheduled_deletion.html", status=410)
        return self.get_response(request)
