"""The route feed (tenants.routing): a change announced by another process reaches this one at its next read of the
feed; while the feed is followed a route stays in the process for the shared cache's lifetime (no shared read every
few seconds); when the feed cannot be followed, every route is forgotten and routes live the short TTL again.

"Another process" is played here by writing to the shared cache exactly what that process would (its own local cache
is not this one's): the route deleted from the shared cache, the change announced. The real thing, a second process
and a running server, is tests/tenants/test_cross_process.py.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.cache import caches

from tenants import routing
from tenants.models import Tenant, TenantStatus
from tests.conftest import host_of

pytestmark = pytest.mark.django_db

V = routing._CACHE_VERSION


@pytest.fixture
def shared_gets(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The keys this process reads one at a time from the shared cache (route lookups; the feed is read in bulk)."""
    shared = caches["shared"]
    original = shared.get
    seen: list[str] = []

    def get(key: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(key)
        return original(key, *args, **kwargs)

    monkeypatch.setattr(shared, "get", get)
    return seen


def read_feed() -> None:
    """This process's next read of the feed, now (as if TENANT_ROUTING_LOCAL_TTL had passed)."""
    routing.feed.next_poll = 0.0
    routing.poll()


def follow() -> None:
    """Start the feed (a first change announced) and read it once: this process follows it from now on."""
    routing.announce(["nobody.invalid"])
    read_feed()
    assert routing.feed.followed


def another_process_suspends(tenant: Tenant, host: str) -> int | None:
    Tenant.objects.filter(pk=tenant.pk).update(status=TenantStatus.SUSPENDED)  # no signal: not this process's doing
    caches["shared"].delete(routing._shared_key(host), version=V)
    return routing.announce([host])


def test_an_announced_change_reaches_this_process_at_its_next_read(tenant: Tenant) -> None:
    host = host_of(tenant)
    follow()
    assert routing.resolve(host).status == TenantStatus.ACTIVE  # type: ignore[union-attr]

    number = another_process_suspends(tenant, host)

    assert number is not None
    assert routing.resolve(host).status == TenantStatus.ACTIVE  # type: ignore[union-attr]  # not read yet
    read_feed()
    assert routing.resolve(host).status == TenantStatus.SUSPENDED  # type: ignore[union-attr]
    assert routing.feed.next_number == number + 1


def test_a_followed_route_outlives_the_short_ttl_without_a_shared_read(
    tenant: Tenant, settings: Any, shared_gets: list[str]
) -> None:
    settings.TENANT_ROUTING_LOCAL_TTL = 0.05
    host = host_of(tenant)
    follow()
    routing.resolve(host)
    shared_gets.clear()

    time.sleep(0.2)  # four short TTLs
    routing.resolve(host)

    assert shared_gets == []  # no route read: the feed said nothing changed
    assert routing.feed.followed


def test_without_a_feed_routes_live_the_short_ttl(tenant: Tenant, settings: Any, shared_gets: list[str]) -> None:
    settings.TENANT_ROUTING_LOCAL_TTL = 0.05
    host = host_of(tenant)
    caches["shared"].delete(routing._FEED_HEAD, version=V)  # nothing announced (or the cache was emptied)
    routing.resolve(host)
    assert not routing.feed.followed
    shared_gets.clear()

    time.sleep(0.2)
    routing.resolve(host)

    assert routing._shared_key(host) in shared_gets


def following_with_a_route(tenant: Tenant) -> tuple[str, int]:
    """This process follows the feed and holds the tenant's route: (its host, the next change number it expects)."""
    host = host_of(tenant)
    follow()
    routing.resolve(host)
    assert routing.local_cache.get(host)[0]
    expected = routing.feed.next_number
    assert expected is not None
    return host, expected


def head() -> dict[str, Any]:
    value = caches["shared"].get(routing._FEED_HEAD, version=V)
    assert isinstance(value, dict)
    return value


def test_a_change_that_fell_out_of_the_cache_forgets_every_route(tenant: Tenant) -> None:
    host, _expected = following_with_a_route(tenant)

    now = head()
    later = {**now, "number": now["number"] + 1}  # announced, then evicted
    caches["shared"].set(routing._FEED_HEAD, later, timeout=None, version=V)
    read_feed()

    assert routing.local_cache.get(host) == (False, None)
    assert routing.feed.next_number == now["number"] + 2


def test_a_feed_that_started_again_forgets_every_route_even_at_the_same_number(tenant: Tenant) -> None:
    """The shared cache emptied, then as many changes announced as this process had read: same number, new epoch."""
    host, expected = following_with_a_route(tenant)

    caches["shared"].set(routing._FEED_HEAD, {"epoch": "fresh", "number": expected - 1}, timeout=None, version=V)
    read_feed()

    assert routing.local_cache.get(host) == (False, None)
    assert (routing.feed.epoch, routing.feed.next_number) == ("fresh", expected)


def test_a_process_far_behind_forgets_every_route(tenant: Tenant) -> None:
    host, start = following_with_a_route(tenant)
    for _ in range(routing._FEED_WINDOW + 1):
        routing.announce(["nobody.invalid"])

    read_feed()

    assert routing.local_cache.get(host) == (False, None)
    assert routing.feed.next_number == start + routing._FEED_WINDOW + 1


def test_concurrent_writers_never_share_a_number() -> None:
    numbers = [routing.announce([f"h{i}.invalid"]) for i in range(5)]
    stale = {**head(), "number": numbers[0]}  # a head that stepped back, as concurrent writers can leave it
    caches["shared"].set(routing._FEED_HEAD, stale, timeout=None, version=V)

    again = routing.announce(["late.invalid"])

    assert None not in numbers
    assert again is not None
    assert again not in numbers
    assert caches["shared"].get(routing._feed_key(head()["epoch"], again), version=V) == ["late.invalid"]


def test_reads_of_the_feed_happen_at_most_once_per_short_ttl(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.TENANT_ROUTING_LOCAL_TTL = 60.0
    reads: list[Any] = []
    shared = caches["shared"]
    original = shared.get_many

    def get_many(keys: list[str], *args: Any, **kwargs: Any) -> Any:
        if len(keys) > 1:  # the feed's head and window (a single `get` is one key on the database cache too)
            reads.append(keys)
        return original(keys, *args, **kwargs)

    monkeypatch.setattr(shared, "get_many", get_many)
    follow()
    reads.clear()

    for _ in range(100):
        routing.poll()

    assert reads == []
    routing.poll(now=time.monotonic() + 61)
    assert len(reads) == 1


def test_a_lookup_that_overlapped_a_read_of_the_feed_keeps_its_answer_briefly(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the lookup found may predate the change the feed just named: kept for the short TTL, not the shared one."""
    host = host_of(tenant)
    follow()
    shared = caches["shared"]
    original = shared.get

    def get_while_a_change_arrives(key: str, *args: Any, **kwargs: Any) -> Any:
        found = original(key, *args, **kwargs)
        if key == routing._shared_key(host):
            routing.announce([host])  # another process's change, read by this process mid-lookup
            read_feed()
        return found

    monkeypatch.setattr(shared, "get", get_while_a_change_arrives)
    before = time.monotonic()
    routing.resolve(host)

    until_followed, _until_alone, _route = routing.local_cache._data[host]
    assert until_followed - before < django_settings.TENANT_ROUTING_LOCAL_TTL + 1
