"""Old subdomains redirect to the new one for a grace period after a rename (`tenant rename-subdomain`).

A renamed-away host stays a Domain of its tenant (not primary, `redirect_until` set), so routing still resolves it
to the right tenant and nobody else can take it during the grace period. `TenantHostRedirectMiddleware`, placed
right after `TenantRoutingMiddleware`, answers such hosts with a redirect to the same path on the primary host. Only
non-primary hosts are looked up, and the answer is cached (shared cache, invalidated by the domain services), so
a warm request costs no query.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.cache import caches
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import timezone

from tenants.models import Domain
from tenants.selectors import tenant_url

_TTL = 300
_VERSION = 1


def _key(host: str) -> str:
    return f"redirect:{host}"


def redirect_until(host: str) -> float | None:
    """The POSIX time until which `host` only redirects, or None when it is served normally. Cached."""
    cache = caches["shared"]
    cached = cache.get(_key(host), version=_VERSION)
    if cached is None:
        until = Domain.objects.filter(domain=host, is_primary=False).values_list("redirect_until", flat=True).first()
        cached = until.timestamp() if until else 0.0
        cache.set(_key(host), cached, timeout=_TTL, version=_VERSION)
    return float(cached) or None


def forget(hosts: list[str]) -> None:
    """Drop cached redirect answers now and again on commit (a rolled-back change leaves the cache right)."""
    if not hosts:
        return

    def drop() -> None:
        caches["shared"].delete_many([_key(h) for h in hosts], version=_VERSION)

    drop()
    transaction.on_commit(drop)


class TenantHostRedirectMiddleware:
    """Redirect (302: the old host may belong to someone else later) a renamed-away host to the primary host."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        route = getattr(request, "route", None)
        if route is not None and not route.is_public and route.host != route.primary_host:
            until = redirect_until(route.host)
            if until is not None and until > timezone.now().timestamp():
                return HttpResponseRedirect(tenant_url(route.primary_host) + request.get_full_path())
        return self.get_response(request)
