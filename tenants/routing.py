"""Host → tenant resolution through two cache levels: zero queries on a warm cache.

1. A per-process LRU (`TENANT_ROUTING_LOCAL_MAX` routes), read without any I/O.
2. The shared cache (`CACHES["shared"]`: Redis, or the database cache without REDIS_URL), seen by every process and
   invalidated whenever a Tenant or Domain changes.
3. The database, once per host per shared-cache lifetime. Unknown hosts are cached too (briefly), so a flood of
   random hosts cannot turn into a flood of queries.

A change reaches every process within `TENANT_ROUTING_LOCAL_TTL`: the changing process forgets the route at once,
deletes it from the shared cache on commit and appends its hosts to the *route feed*, a numbered list of changes in
the shared cache. Every process reads the feed at most once per `TENANT_ROUTING_LOCAL_TTL` (one `get_many`, whatever
the number of workspaces) and forgets the hosts it names. So a route can stay in a process for the shared cache's
lifetime (`TENANT_ROUTING_SHARED_TTL`) instead of being read again every few seconds: at ten thousand workspaces, a
request for a workspace this process has seen reads nothing. When the feed cannot be followed (the shared cache is
unreachable or was emptied, a change fell out of it, the process fell far behind), the process forgets every route
and, while the feed stays unreadable, keeps routes for `TENANT_ROUTING_LOCAL_TTL` only, as if there were no feed.

Other per-process caches keyed by something a workspace's admins change (its sign-in policy) ride the same feed: they
announce names of their own (`"<prefix>:<key>"`, never a host) and listen with `feed_listen`, which hands them the
names each poll read, or None when the process lost the feed and must forget everything.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import DisallowedHost
from django.db import DEFAULT_DB_ALIAS, transaction
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
    language: str = ""  # the workspace's default language (empty: none; the browser's is used)

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
            language=str(data.get("language", "")),
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
    """A thread-safe LRU whose entries carry two expiry times: while the route feed is followed, and while it is not."""

    def __init__(self, maxsize: int = 16_384) -> None:
        self._data: OrderedDict[str, tuple[float, float, Route | None]] = OrderedDict()
        self._lock = threading.Lock()
        self.maxsize = maxsize

    def get(self, host: str) -> tuple[bool, Route | None]:
        """(found, route), by the expiry that fits whether this process follows the feed now."""
        followed = feed.followed
        with self._lock:
            item = self._data.get(host)
            if item is None:
                return False, None
            until_followed, until_alone, route = item
            if (until_followed if followed else until_alone) < time.monotonic():
                del self._data[host]
                return False, None
            self._data.move_to_end(host)
            return True, route

    def set(self, host: str, route: Route | None, ttl: float, ttl_followed: float | None = None) -> None:
        now = time.monotonic()
        with self._lock:
            self._data[host] = (now + (ttl if ttl_followed is None else ttl_followed), now + ttl, route)
            self._data.move_to_end(host)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def discard(self, hosts: Iterable[str]) -> None:
        with self._lock:
            for host in hosts:
                self._data.pop(host, None)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


local_cache = _LocalCache(settings.TENANT_ROUTING_LOCAL_MAX)


# ---------------------------------------------------------------------------------------------------------------------
# The route feed: numbered changes in the shared cache, read by every process
# ---------------------------------------------------------------------------------------------------------------------

_FEED_HEAD = "route-feed:head"  # {"epoch": …, "number": the latest change's} (never expires)
_FEED_TTL = 3600  # a change stays readable this long; a process further behind forgets every route
_FEED_WINDOW = 32  # changes read per poll; a process further behind forgets every route
_FEED_TRIES = 16


def _feed_key(epoch: str, number: int) -> str:
    return f"route-feed:{epoch}:{number}"


@dataclass(frozen=True, slots=True)
class _Head:
    """Where the feed is. The epoch is drawn when the head is first written: a feed started again (the shared cache
    emptied, the head evicted) has a new one, so no reader mistakes its numbers for the old feed's."""

    epoch: str
    number: int

    @classmethod
    def read(cls, value: object) -> _Head | None:
        if isinstance(value, Mapping):
            epoch, number = value.get("epoch"), value.get("number")
            if isinstance(epoch, str) and isinstance(number, int):
                return cls(epoch, number)
        return None


class _Feed:
    """This process's place in the feed: the epoch it follows and the next change to read, and when to look again."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.epoch = ""
        self.next_number: int | None = None  # None: not following (yet, or any more)
        self.next_poll = 0.0
        self.forgotten = 0  # how many reads of the feed made this process forget routes

    @property
    def followed(self) -> bool:
        return self.next_number is not None

    def reset(self) -> None:
        with self.lock:
            self.epoch = ""
            self.next_number = None
            self.next_poll = 0.0


feed = _Feed()

# Called with the names a poll read (hosts and other caches' names alike), or None when every cached thing is to be
# forgotten (the feed was lost). Registered once per process, at import of the listening module.
_listeners: list[Callable[[list[str] | None], None]] = []


def feed_listen(listener: Callable[[list[str] | None], None]) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def _tell_listeners(names: list[str] | None) -> None:
    for listener in _listeners:
        listener(names)


def announce(hosts: list[str]) -> int | None:
    """Append a change naming these hosts to the feed; its number, or None if the shared cache could not take it
    (then the other processes cannot read the feed either, and keep routes for the short TTL only).

    Numbers are claimed with `add` (atomic on Redis and on the database cache); the head is a hint for the next
    writer and for readers, written after the change, and may briefly lag or even step back under concurrent
    writers: a reader that sees it step back forgets every route, which is always safe."""
    shared = caches["shared"]
    head = _Head.read(shared.get(_FEED_HEAD, version=_CACHE_VERSION))
    if head is None:
        started = {"epoch": secrets.token_hex(8), "number": 0}
        shared.add(_FEED_HEAD, started, timeout=None, version=_CACHE_VERSION)
        head = _Head.read(shared.get(_FEED_HEAD, version=_CACHE_VERSION))
        if head is None:
            return None
    for number in range(head.number + 1, head.number + 1 + _FEED_TRIES):
        if shared.add(_feed_key(head.epoch, number), list(hosts), timeout=_FEED_TTL, version=_CACHE_VERSION):
            shared.set(_FEED_HEAD, {"epoch": head.epoch, "number": number}, timeout=None, version=_CACHE_VERSION)
            return number
    return None


def poll(now: float | None = None) -> None:
    """Read the changes announced since the last poll and forget their hosts; at most once per
    TENANT_ROUTING_LOCAL_TTL per process (other threads go on meanwhile)."""
    now = time.monotonic() if now is None else now
    if now < feed.next_poll:
        return  # the common case, without the lock
    with feed.lock:
        if now < feed.next_poll:
            return
        feed.next_poll = now + settings.TENANT_ROUTING_LOCAL_TTL
        epoch, start = feed.epoch, feed.next_number
    window = [] if start is None else [_feed_key(epoch, n) for n in range(start, start + _FEED_WINDOW)]
    shared = caches["shared"]
    found = shared.get_many([_FEED_HEAD, *window], version=_CACHE_VERSION)
    head = _Head.read(found.get(_FEED_HEAD))
    if head is None:
        # Unreachable, emptied, or no change announced yet: routes kept from now on live the short TTL. (Reading
        # never writes: the next announced change starts the feed again.)
        with feed.lock:
            feed.epoch, feed.next_number = "", None
        return
    with feed.lock:
        if (feed.epoch, feed.next_number) != (epoch, start):
            return  # another thread read the feed meanwhile
        # Lost unless every change since the last read is in the window: not following before (what is cached may
        # predate changes), another epoch (the feed started again), too far behind, or a change expired or evicted.
        lost = True
        number = head.number + 1
        names: list[str] = []
        if start is not None and head.epoch == epoch and start - 1 <= head.number < start + _FEED_WINDOW:
            number = start
            while number <= head.number:
                hosts = found.get(_feed_key(epoch, number))
                if not isinstance(hosts, list):
                    break
                names.extend(str(h) for h in hosts)
                number += 1
            lost = number <= head.number
        if lost:
            local_cache.clear()  # forget every route
            number = head.number + 1
        else:
            local_cache.discard(names)
        if lost or number != start:
            feed.forgotten += 1
        feed.epoch, feed.next_number = head.epoch, number
    if lost or names:
        _tell_listeners(None if lost else names)


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
        language=tenant.language,
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
    poll()
    found, route = local_cache.get(host)
    if found:
        return route
    forgotten = feed.forgotten
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
    if route is None:
        local_cache.set(host, None, min(_MISSING_TTL, 5.0))
    else:
        # A change read from the feed while this lookup ran may be newer than what it found: keep that briefly.
        kept = settings.TENANT_ROUTING_SHARED_TTL if feed.forgotten == forgotten else settings.TENANT_ROUTING_LOCAL_TTL
        local_cache.set(host, route, settings.TENANT_ROUTING_LOCAL_TTL, kept)
    return route


def invalidate(hosts: list[str], *, announced: bool = True) -> None:
    """Forget the routes of these hosts everywhere: in this process now, in the shared cache, and (announced on the
    feed) in the other processes within TENANT_ROUTING_LOCAL_TTL."""
    if not hosts:
        return
    local_cache.discard(hosts)
    caches["shared"].delete_many([_shared_key(h) for h in hosts], version=_CACHE_VERSION)
    if announced:
        announce(hosts)


def forget_new_host(host: str) -> None:
    """A host that routed nowhere until the caller's transaction commits (a new workspace's): nothing has a route for
    it to forget, only "no workspace here" answers. This process forgets its own at once; the shared one (kept up to
    `_MISSING_TTL`) is deleted on commit; other processes keep theirs at most 5 s (`resolve`). No change is announced
    on the route feed, which is for hosts whose route changed."""

    local_cache.discard([host])
    transaction.on_commit(
        lambda: caches["shared"].delete_many([_shared_key(host)], version=_CACHE_VERSION), robust=True
    )


def clear() -> None:
    """Drop every cached route in this process (tests; the shared entries expire or are invalidated on change)."""
    local_cache.clear()
    feed.reset()
    _validated_hosts.clear()
