"""Fixed-window counters that hold under concurrency, on the shared cache every process sees.

`window_take(buckets, window=60)` lets one request through only when every bucket is under its limit, and then counts
it in all of them, as one atomic step: 50 concurrent callers at a limit of 10 → exactly 10 through, whichever process
they run in. A refused request is not counted (a client hammering past its limit does not push its own reset away).

- Redis (`REDIS_URL`): one Lua script, one round trip; each key expires with its window. While Redis cannot be
  reached, requests are let through uncounted, with a warning in the log.
- The database cache (the embedded default: Django's `DatabaseCache`, a table every process shares): one
  `INSERT … ON CONFLICT DO UPDATE … RETURNING` on that table in a short transaction, rolled back when a bucket would go
  over its limit. The row locks the upsert takes queue concurrent callers, so the counts cannot race. (Django's own
  `incr` on this backend is a read then a write, which two processes can interleave.)

Keys are the caller's; a bucket's key gets the window number appended. The counter rows live in the cache table
under the cache's own key prefix, and expire one window after theirs ends (the cache's culling removes them).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from django.core.cache import BaseCache, caches
from django.core.cache.backends.db import BaseDatabaseCache
from django.core.cache.backends.redis import RedisCache
from django.db import connections, router, transaction

from shared_apps.core.cache import degraded

CACHE_ALIAS = "shared"
# The clock the windows are cut from (tests hold it still, so a window cannot end in the middle of one).
_clock = time.time

# KEYS: the counters; ARGV[1…n]: each counter's limit; ARGV[n+1…2n]: seconds to keep each. Reads every count,
# refuses when one is at its limit (returning the counts as they are), else increments all (returning the new counts).
_LUA = """
local counts = {}
local n = #KEYS
for i = 1, n do
  counts[i] = tonumber(redis.call('GET', KEYS[i]) or '0')
end
for i = 1, n do
  if counts[i] >= tonumber(ARGV[i]) then
    return {0, i, unpack(counts)}
  end
end
for i = 1, n do
  counts[i] = redis.call('INCR', KEYS[i])
  if counts[i] == 1 then
    redis.call('EXPIRE', KEYS[i], ARGV[n + i])
  end
end
return {1, 0, unpack(counts)}
"""


# KEYS[1]: the counter; ARGV: its limit, how many are asked for, seconds to keep it. Takes as many as fit (none when it
# is full) and returns {taken, count after}.
_LUA_UP_TO = """
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
local take = math.min(tonumber(ARGV[2]), tonumber(ARGV[1]) - count)
if take <= 0 then
  return {0, count}
end
count = redis.call('INCRBY', KEYS[1], take)
if count == take then
  redis.call('EXPIRE', KEYS[1], ARGV[3])
end
return {take, count}
"""


@dataclass(frozen=True)
class Bucket:
    """A counter and its limit. `window`: seconds of its own fixed windows (the call's by default); `keep`: how many
    windows its count stays readable (`counter_read`) before it expires."""

    key: str
    limit: int
    window: int | None = None
    keep: int = 2

    def key_at(self, moment: float, window: int) -> str:
        return f"{self.key}:{int(moment // (self.window or window))}"

    def expires_at(self, moment: float, window: int) -> float:
        own = self.window or window
        return float((int(moment // own) + self.keep) * own)


@dataclass(frozen=True)
class WindowResult:
    allowed: bool
    counts: tuple[int, ...]  # each bucket's count: after this request when allowed, as it stands when refused
    limits: tuple[int, ...]
    refused_by: int | None  # the index of the first bucket at its limit (None when allowed)
    reset_at: float  # POSIX time the window ends

    def remaining(self, index: int) -> int:
        return max(self.limits[index] - self.counts[index], 0)

    def reset_after(self, now: float | None = None) -> int:
        """Whole seconds until the window ends (at least 1)."""
        return max(int(self.reset_at - (_clock() if now is None else now) + 0.999), 1)


def window_take(
    buckets: Sequence[Bucket], *, window: int = 60, now: float | None = None, cache: BaseCache | None = None
) -> WindowResult:
    """Count one request in every bucket if all are under their limits; otherwise count nothing and say which one
    is full. Fixed windows aligned on multiples of `window` seconds. `cache`: the shared cache unless given."""
    moment = _clock() if now is None else now
    number = int(moment // window)
    reset_at = float((number + 1) * window)
    if not buckets:
        return WindowResult(True, (), (), None, reset_at)
    keys = [bucket.key_at(moment, window) for bucket in buckets]
    limits = tuple(max(int(bucket.limit), 0) for bucket in buckets)
    expires = tuple(bucket.expires_at(moment, window) for bucket in buckets)
    ttls = tuple(max(int(until - moment + 0.999), 1) for until in expires)
    cache = cache if cache is not None else caches[CACHE_ALIAS]
    if isinstance(cache, RedisCache):
        # Redis unreachable: the request goes through uncounted (a limit that cannot count must not take the site down
        # with it), with a warning in the log (shared_apps/core/cache.py); counting resumes when Redis answers.
        taken = degraded("rate limits", lambda: _redis_take(cache, keys, limits, ttls=ttls), None)
        if taken is None:
            return WindowResult(True, tuple(0 for _ in keys), limits, None, reset_at)
        allowed, refused_by, counts = taken
    elif isinstance(cache, BaseDatabaseCache):
        allowed, refused_by, counts = _database_take(cache, keys, limits, expires=expires)
    else:
        allowed, refused_by, counts = _local_take(cache, keys, limits, ttls=ttls)
    return WindowResult(allowed, counts, limits, refused_by, reset_at)


def window_take_up_to(
    bucket: Bucket, wanted: int, *, window: int = 60, now: float | None = None, cache: BaseCache | None = None
) -> tuple[int, float]:
    """Count up to `wanted` requests in one bucket, as many as fit under its limit, as one atomic step (one Redis
    script, one upsert on the database cache, plus one update when fewer fit than were asked for): (how many were
    counted, POSIX time the window ends). For a batch that would otherwise call `window_take` once per item."""
    moment = _clock() if now is None else now
    reset_at = float((int(moment // window) + 1) * window)
    wanted = max(int(wanted), 0)
    if not wanted:
        return 0, reset_at
    key = bucket.key_at(moment, window)
    limit = max(int(bucket.limit), 0)
    expires = bucket.expires_at(moment, window)
    ttl = max(int(expires - moment + 0.999), 1)
    cache = cache if cache is not None else caches[CACHE_ALIAS]
    if isinstance(cache, RedisCache):
        taken = degraded("rate limits", lambda: _redis_take_up_to(cache, key, limit, wanted, ttl=ttl), None)
        return (wanted if taken is None else taken), reset_at
    if isinstance(cache, BaseDatabaseCache):
        return _database_take_up_to(cache, key, limit, wanted, expires=expires), reset_at
    with _local_lock:
        count = int(cache.get(key) or 0)
        taken = max(min(wanted, limit - count), 0)
        if taken:
            cache.set(key, count + taken, timeout=ttl)
        return taken, reset_at


def counters_read(keys: Sequence[str], *, now: float | None = None, cache: BaseCache | None = None) -> dict[str, int]:
    """The counts `window_take` keeps under these full keys (`Bucket.key_at`), 0 where there is none (never counted,
    or expired). One read: a Redis MGET or one SELECT on the database cache."""
    if not keys:
        return {}
    cache = cache if cache is not None else caches[CACHE_ALIAS]
    if isinstance(cache, BaseDatabaseCache):
        found = _database_read(cache, list(keys), now=_clock() if now is None else now)
    elif isinstance(cache, RedisCache):
        stored: dict[str, Any] = degraded("rate limits", lambda: cache.get_many(list(keys)), {})
        found = {key: int(value or 0) for key, value in stored.items()}
    else:
        stored = cache.get_many(list(keys))
        found = {key: int(value or 0) for key, value in stored.items()}
    return {key: found.get(key, 0) for key in keys}


def window_peek(
    buckets: Sequence[Bucket], *, window: int = 60, now: float | None = None, cache: BaseCache | None = None
) -> WindowResult:
    """Where `buckets` stand in the current window, counting nothing: `allowed` is whether `window_take` would let
    one more through. One read (a Redis MGET, one SELECT on the database cache). For limits on failures: peek before
    the attempt (refuse it unheard when the bucket is full), `window_take` after it failed."""
    moment = _clock() if now is None else now
    number = int(moment // window)
    reset_at = float((number + 1) * window)
    if not buckets:
        return WindowResult(True, (), (), None, reset_at)
    keys = [bucket.key_at(moment, window) for bucket in buckets]
    limits = tuple(max(int(bucket.limit), 0) for bucket in buckets)
    cache = cache if cache is not None else caches[CACHE_ALIAS]
    if isinstance(cache, BaseDatabaseCache):
        found = _database_read(cache, keys, now=moment)
    else:
        # Redis's get_many is one MGET; the counters are plain integers there (INCR), as they are in local memory.
        stored = cache.get_many(keys)
        found = {key: int(stored.get(key) or 0) for key in keys}
    counts = tuple(found.get(key, 0) for key in keys)
    refused_by = next((i for i, n in enumerate(counts) if n >= limits[i]), None)
    return WindowResult(refused_by is None, counts, limits, refused_by, reset_at)


# --- Redis ---------------------------------------------------------------------------------------------------------

_scripts: dict[int, Any] = {}


def _redis_take(
    cache: RedisCache, keys: list[str], limits: tuple[int, ...], *, ttls: tuple[int, ...]
) -> tuple[bool, int | None, tuple[int, ...]]:
    client = cast(Any, cache)._cache.get_client(write=True)
    script = _scripts.get(id(client))
    if script is None:
        script = _scripts[id(client)] = client.register_script(_LUA)  # EVALSHA, EVAL once after a restart
    reply = script(keys=[cache.make_key(k) for k in keys], args=[*limits, *ttls], client=client)
    allowed, refused = int(reply[0]), int(reply[1])
    return bool(allowed), (refused - 1 if refused else None), tuple(int(n) for n in reply[2:])


def _redis_take_up_to(cache: RedisCache, key: str, limit: int, wanted: int, *, ttl: int) -> int:
    client = cast(Any, cache)._cache.get_client(write=True)
    script = _scripts.get(-id(client))
    if script is None:
        script = _scripts[-id(client)] = client.register_script(_LUA_UP_TO)
    reply = script(keys=[cache.make_key(key)], args=[limit, wanted, ttl], client=client)
    return int(reply[0])


# --- the database cache --------------------------------------------------------------------------------------------


class _Over(Exception):
    def __init__(self, counts: tuple[int, ...], refused_by: int) -> None:
        super().__init__()
        self.counts, self.refused_by = counts, refused_by


def _database_take(
    cache: BaseDatabaseCache, keys: list[str], limits: tuple[int, ...], *, expires: tuple[float, ...]
) -> tuple[bool, int | None, tuple[int, ...]]:
    db = router.db_for_write(cache.cache_model_class)
    connection = connections[db]
    table = connection.ops.quote_name(cache.cache_model_class._meta.db_table)
    stored = [cache.make_key(k) for k in keys]
    # Rows are upserted in key order: two callers sharing buckets lock them in the same order (no deadlock).
    order = sorted(range(len(stored)), key=lambda i: stored[i])
    values = ", ".join(["(%s, '1', %s)"] * len(stored))
    params: list[Any] = []
    for i in order:
        params += [stored[i], dt.datetime.fromtimestamp(expires[i], tz=dt.UTC)]
    sql = (
        f"INSERT INTO {table} (cache_key, value, expires) VALUES {values} "  # noqa: S608 (the cache's own table)
        f"ON CONFLICT (cache_key) DO UPDATE SET value = ({table}.value::bigint + 1)::text "
        "RETURNING cache_key, value::bigint"
    )
    try:
        with transaction.atomic(using=db), connection.cursor() as cursor:
            # A counter is not worth a WAL flush: a crash may lose the last counts of the current minute, nothing more.
            if connection.vendor == "postgresql":
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
            cursor.execute(sql, params)
            found = dict(cursor.fetchall())
            counts = tuple(int(found[key]) for key in stored)
            over = next((i for i, n in enumerate(counts) if n > limits[i]), None)
            if over is not None:
                raise _Over(tuple(n - 1 for n in counts), over)  # rolls the increments back
    except _Over as refused:
        return False, refused.refused_by, refused.counts
    return True, None, counts


def _database_take_up_to(cache: BaseDatabaseCache, key: str, limit: int, wanted: int, *, expires: float) -> int:
    """Add `wanted` in one upsert; when that goes over the limit, give back what did not fit (same transaction, the
    row still locked)."""
    db = router.db_for_write(cache.cache_model_class)
    connection = connections[db]
    table = connection.ops.quote_name(cache.cache_model_class._meta.db_table)
    stored = cache.make_key(key)
    with transaction.atomic(using=db), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL synchronous_commit TO OFF")  # as in `_database_take`
        cursor.execute(
            f"INSERT INTO {table} (cache_key, value, expires) VALUES (%s, %s, %s) "  # noqa: S608 (the cache's own table)
            f"ON CONFLICT (cache_key) DO UPDATE SET value = ({table}.value::bigint + %s)::text RETURNING value::bigint",
            [stored, str(wanted), dt.datetime.fromtimestamp(expires, tz=dt.UTC), wanted],
        )
        count = int(cursor.fetchone()[0])
        taken = max(min(wanted, limit - (count - wanted)), 0)
        if taken < wanted:
            cursor.execute(
                f"UPDATE {table} SET value = (value::bigint - %s)::text WHERE cache_key = %s",  # noqa: S608 (as above)
                [wanted - taken, stored],
            )
    return taken


def _database_read(cache: BaseDatabaseCache, keys: list[str], *, now: float) -> dict[str, int]:
    """The counters `_database_take` wrote (plain integers in the value column, not pickled): one SELECT."""
    db = router.db_for_read(cache.cache_model_class)
    connection = connections[db]
    table = connection.ops.quote_name(cache.cache_model_class._meta.db_table)
    stored = {cache.make_key(k): k for k in keys}
    placeholders = ", ".join(["%s"] * len(stored))
    sql = (
        f"SELECT cache_key, value::bigint FROM {table} "  # noqa: S608 (the cache's own table)
        f"WHERE cache_key IN ({placeholders}) AND expires > %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*stored, dt.datetime.fromtimestamp(now, tz=dt.UTC)])
        return {stored[key]: int(value) for key, value in cursor.fetchall()}


# --- any other cache (local memory: one process only) --------------------------------------------------------------

_local_lock = threading.Lock()


def _local_take(
    cache: BaseCache, keys: list[str], limits: tuple[int, ...], *, ttls: tuple[int, ...]
) -> tuple[bool, int | None, tuple[int, ...]]:
    """For a per-process cache (a benchmark's or a test's local memory): atomic within the process only."""
    with _local_lock:
        counts = tuple(int(cache.get(k) or 0) for k in keys)
        over = next((i for i, n in enumerate(counts) if n >= limits[i]), None)
        if over is not None:
            return False, over, counts
        for key, n, ttl in zip(keys, counts, ttls, strict=True):
            cache.set(key, n + 1, timeout=ttl)
        return True, None, tuple(n + 1 for n in counts)
