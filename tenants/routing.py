"""Host → tenant resolution through two cache levels: zero queries on a warm cache.

1. A per-process LRU with a short TTL (`TENANT_ROUTING_LOCAL_TTL`), read without any I/O.
2. The shared cache (`CACHES["shared"]`: Redis, or the database cache without REDIS_URL), seen by every process and
   invalidated whenever a Tenant or Domain changes.
3. The database, once per host per shared-cache lifetime. Unknown hosts are cached too (briefly), so a flood of
   random hosts cannot turn into a flood of queries.

A change reaches every process within the local TTL: the changing process forgets the route at once and deletes it
from the shared cache on commit; the others read the shared cache again when their local entry expires.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import DisallowedHost
from django.db import DEFAULT_DB_ALIAS
from django.http import HttpRequest

from tenants.models import PUBLIC_SCHEMA, Domain, Tenant

_MISSING_TTL = 30
_CACHE_VERSION = 2


@dataclass(frozen=True, slots=True)
class Route:
    """What a request needs to know about the tenant behind a host."""

    tenant_id: int
    schema_name: str
    name: str
    status: str
    host: str
    primary_host: str
    redirect_until: float = 0.0  # POSIX time until which this (renamed-away) host only redirects to primary_host

    @property
    def is_public(self) -> bool:
        return self.schema_name == PUBLIC_SCHEMA

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Route:
        """The route a shared-cache entry (`asdict(route)`) describes; KeyError/TypeError/ValueError if malformed."""
        return cls(
            tenant_id=int(data["tenant_id"]),
            schema_name=str(data["schema_name"]),
            name=str(data["name"]),
            status=str(data["status"]),
            host=str(data["host"]),
            primary_host=str(data["primary_host"]),
            redirect_until=float(data.get("redirect_until", 0.0)),
        )

    def tenant(self) -> Tenant:
        """A new Tenant for this route, for django-tenants (`connection.set_tenant`) and code that needs a model
        instance: built without a query, one per call, so nothing set on it reaches another request. Only the route's
        fields are loaded (the others load from the database if read), and it refuses `save()` and `delete()`:
        services that change a tenant load and lock their own row."""
        tenant = Tenant.from_db(
            DEFAULT_DB_ALIAS, _SNAPSHOT_FIELDS, (self.tenant_id, self.schema_name, self.name, self.status)
        )
        tenant.route_snapshot = True
        tenant.domain_url = self.host  # django-tenants convention
        return tenant


_SNAPSHOT_FIELDS = ("id", "schema_name", "name", "status")


class _LocalCache:
    """A small thread-safe LRU with per-entry expiry."""

    def __init__(self, maxsize: int = 2048) -> None:
        self._data: OrderedDict[str, tuple[float, Route | None]] = OrderedDict()
        self._lock = threading.Lock()
        self.maxsize = maxsize

    def get(self, host: str) -> tuple[bool, Route | None]:
        with self._lock:
            item = self._data.get(host)
            if item is None:
                return False, None
            expires, route = item
            if expires < time.monotonic():
                del self._data[host]
                return False, None
            self._data.move_to_end(host)
            return True, route

    def set(self, host: str, route: Route | None, ttl: float) -> None:
        with self._lock:
            self._data[host] = (time.monotonic() + ttl, route)
            self._data.move_to_end(host)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def discard(self, hosts: list[str]) -> None:
        with self._lock:
            for host in hosts:
                self._data.pop(host, None)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


local_cache = _LocalCache()


_validated_hosts: dict[str, str] = {}


# A host name is at most 253 characters of dot-separated labels of at most 63 (RFC 1035, RFC 1123); with a port, a
# Host header is a few characters longer. Anything else is refused before any cache or query sees it, so a flood of
# long or malformed hosts can neither grow this process's caches nor cost a database query each.
MAX_HOST_HEADER = 260
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_HOST_NAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*$")


def request_host(request: HttpRequest) -> str:
    """The request's normalised host. `get_host()` (the ALLOWED_HOSTS check) runs once per distinct Host header per
    process; a header that passed it once maps straight to its normalised form after that."""
    raw = request.META.get("HTTP_HOST")
    if raw is not None:
        host = _validated_hosts.get(raw)
        if host is not None:
            return host
        if len(raw) > MAX_HOST_HEADER:
            raise DisallowedHost("The Host header is longer than any host name can be.")
    host = normalise_host(request.get_host())  # raises DisallowedHost → 400, as Django would
    if not host.startswith("[") and not _HOST_NAME.match(host):
        raise DisallowedHost("The Host header is not a valid host name.")
    if raw is not None and not settings.USE_X_FORWARDED_HOST:
        if len(_validated_hosts) > 10_000:
            _validated_hosts.clear()
        _validated_hosts[raw] = host
    return host


def normalise_host(raw_host: str) -> str:
    """`Acme.Example.com:8000` → `acme.example.com` (port and trailing dot dropped)."""
    host = raw_host.strip().lower()
    if host.startswith("["):  # IPv6 literal
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0].rstrip(".") if ":" in host else host.rstrip(".")


def _shared_key(host: str) -> str:
    return f"route:{host}"


def _public_route(host: str) -> Route:
    return Route(tenant_id=0, schema_name=PUBLIC_SCHEMA, name="Atrium", status="active", host=host, primary_host=host)


def _load(host: str) -> Route | None:
    domain = Domain.objects.select_related("tenant").filter(domain=host).first()
    if domain is None:
        return None
    tenant = domain.tenant
    primary_host = host
    if not domain.is_primary:
        primary = Domain.objects.filter(tenant_id=tenant.pk, is_primary=True).values_list("domain", flat=True).first()
        primary_host = primary or host
    return Route(
        tenant_id=tenant.pk,
        schema_name=tenant.schema_name,
        name=tenant.name,
        status=tenant.status,
        host=host,
        primary_host=primary_host,
        redirect_until=domain.redirect_until.timestamp() if domain.redirect_until and not domain.is_primary else 0.0,
    )


def _from_shared(cached: object) -> Route | None:
    """The route in a shared-cache entry; None for a miss, a cached "missing", or an entry of another shape."""
    if not isinstance(cached, Mapping):
        return None
    try:
        return Route.from_dict(cached)
    except (KeyError, TypeError, ValueError):
        return None


def resolve(host: str) -> Route | None:
    """The route for a normalised host, or None for a host no tenant owns."""
    if host == settings.BASE_DOMAIN:
        return _public_route(host)
    found, route = local_cache.get(host)
    if found:
        return route
    shared = caches["shared"]
    cached: object = shared.get(_shared_key(host), version=_CACHE_VERSION)
    route = _from_shared(cached)
    if route is None and cached != "missing":
        route = _load(host)
        shared.set(
            _shared_key(host),
            asdict(route) if route else "missing",
            timeout=settings.TENANT_ROUTING_SHARED_TTL if route else _MISSING_TTL,
            version=_CACHE_VERSION,
        )
    local_cache.set(host, route, settings.TENANT_ROUTING_LOCAL_TTL if route else min(_MISSING_TTL, 5.0))
    return route


def invalidate(hosts: list[str]) -> None:
    """Forget the routes of these hosts everywhere (this process now, other processes within the local TTL)."""
    if not hosts:
        return
    local_cache.discard(hosts)
    caches["shared"].delete_many([_shared_key(h) for h in hosts], version=_CACHE_VERSION)


def clear() -> None:
    """Drop every cached route in this process (tests; the shared entries expire or are invalidated on change)."""
    local_cache.clear()
    _validated_hosts.clear()
