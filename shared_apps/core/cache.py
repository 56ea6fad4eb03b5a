"""Redis as a cache that may go away: Django's RedisCache, where an unreachable Redis is a miss, not an error.

Every read answers "not cached" and every write is dropped while Redis cannot be reached (refused, timed out, reset):
pages keep being served from the database — routes resolved by their one query, sessions in the database — only
slower. Each process logs a warning when it first sees Redis gone and again at most every LOG_EVERY seconds while it
stays gone, and an info line when it answers again. The rate-limit counters (`shared_apps.core.ratelimit`) use Redis
directly and degrade on their own (requests are let through, uncounted, with a warning).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

UNREACHABLE = (RedisConnectionError, RedisTimeoutError, ConnectionError, TimeoutError)
LOG_EVERY = 30.0
T = TypeVar("T")


class Outage:
    """When this process last saw Redis unreachable, for each thing that degraded, and when that was logged."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.down_since: dict[str, float] = {}
        self._logged_at: dict[str, float] = {}

    def failed(self, what: str, error: BaseException) -> None:
        now = time.monotonic()
        with self._lock:
            first = what not in self.down_since
            if first:
                self.down_since[what] = now
            if not first and now - self._logged_at.get(what, 0.0) < LOG_EVERY:
                return
            self._logged_at[what] = now
        logger.warning("redis unreachable: %s degraded (%s)", what, error.__class__.__name__)

    def answered(self, what: str) -> None:
        if what not in self.down_since:
            return
        with self._lock:
            since = self.down_since.pop(what, None)
        if since is not None:
            logger.info("redis reachable again: %s restored after %.1fs", what, time.monotonic() - since)


outage = Outage()


def degraded(what: str, call: Callable[[], T], fallback: T) -> T:
    """`call()`, or `fallback` (logged) when Redis cannot be reached."""
    try:
        result = call()
    except UNREACHABLE as error:
        outage.failed(what, error)
        return fallback
    outage.answered(what)
    return result


class ClientPerPool(RedisCacheClient):
    """Django's Redis cache client builds a `redis.Redis` for every call (its response callbacks set up each time);
    this one keeps one per connection pool. A `redis.Redis` is safe to share between threads: each command takes a
    connection from the pool and gives it back."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        django: Any = self  # the pool helpers are Django's, unknown to the type stubs
        index = django._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            pool = django._get_connection_pool(write)
            client = self._clients.setdefault(index, django._client(connection_pool=pool))
        return client


class ResilientRedisCache(RedisCache):
    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = ClientPerPool

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        return degraded("cache", lambda: super(ResilientRedisCache, self).get(key, default, version), default)

    def get_many(self, keys: Any, version: int | None = None) -> dict[Any, Any]:
        return degraded("cache", lambda: super(ResilientRedisCache, self).get_many(keys, version), {})

    def has_key(self, key: Any, version: int | None = None) -> bool:
        return degraded("cache", lambda: super(ResilientRedisCache, self).has_key(key, version), False)

    def add(self, key: Any, value: Any, timeout: Any = 300, version: int | None = None) -> bool:
        return degraded("cache", lambda: super(ResilientRedisCache, self).add(key, value, timeout, version), False)

    def set(self, key: Any, value: Any, timeout: Any = 300, version: int | None = None) -> None:
        degraded("cache", lambda: super(ResilientRedisCache, self).set(key, value, timeout, version), None)

    def set_many(self, data: Any, timeout: Any = 300, version: int | None = None) -> list[Any]:
        return degraded("cache", lambda: super(ResilientRedisCache, self).set_many(data, timeout, version), list(data))

    def touch(self, key: Any, timeout: Any = 300, version: int | None = None) -> bool:
        return degraded("cache", lambda: super(ResilientRedisCache, self).touch(key, timeout, version), False)

    def delete(self, key: Any, version: int | None = None) -> bool:
        return degraded("cache", lambda: super(ResilientRedisCache, self).delete(key, version), False)

    def delete_many(self, keys: Any, version: int | None = None) -> None:
        degraded("cache", lambda: super(ResilientRedisCache, self).delete_many(keys, version), None)

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        def missing() -> int:
            raise ValueError(f"Key '{key}' not found (the cache is unreachable)")

        try:
            return super().incr(key, delta, version)
        except UNREACHABLE as error:
            outage.failed("cache", error)
            return missing()

    def clear(self) -> None:
        degraded("cache", lambda: super(ResilientRedisCache, self).clear(), None)


PUBLIC_TABLE_PREFIX = 'public"."'


class PublicDatabaseCache(DatabaseCache):
    """Django's database cache on a table of the public schema, named `"public"."<table>"` in every statement it
    sends: behind a transaction pooler no server-side search_path can be relied on (the cache is the development
    default and the route cache's fallback without Redis)."""

    def __init__(self, table: str, params: dict[str, Any]) -> None:
        super().__init__(PUBLIC_TABLE_PREFIX + table, params)  # quote_name() wraps it: "public"."<table>"
