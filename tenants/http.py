"""The attributes routing puts on a request, typed: views annotate `request: RoutedRequest` (or a subclass from a
higher layer) instead of reading untyped attributes."""

from __future__ import annotations

from django.http import HttpRequest

from tenants.models import Tenant
from tenants.routing import Route


class RoutedRequest(HttpRequest):
    """A request `TenantRoutingMiddleware` has routed. `route` is the frozen snapshot Atrium code reads; `tenant` is
    there for the libraries that want a Tenant (django-tenants' connection, tenant-schemas-celery)."""

    route: Route
    tenant: Tenant
    urlconf: str
