"""At most one waiting run of a task per key (e.g. "dispatch the events of workspace acme"), however many commits ask
for it; and, without a broker, tasks run on threads of this process instead of in the committing thread.

`enqueue_once_on_commit(task, key=…)`, after the current transaction commits, claims the key's "pending" flag and
enqueues the task only if the flag was not already set: a run is then waiting that has not started yet. The task
clears the flag (`release(key)`) *before* it reads anything, and reads everything there is. So whatever a commit
wrote is read: either its own claim enqueued a run, or a run was waiting, which clears the flag after that commit and
reads after clearing it. A commit after the clear sets the flag again and enqueues the next run.

Where the flag lives follows where tasks run:
- tasks on a Redis broker (workers in other processes): in Redis (`SET NX EX`), shared by every process;
- tasks in-process (no broker: `make run`'s default, tests): in this process. Each process's runs read the whole
  database, so several serving processes each with its own flags still lose nothing; they only coalesce less;
- another broker: no flag, every commit enqueues (nothing shared to coordinate with).

A flag expires after TASKS_COALESCE_SECONDS, so a process that died between setting it and enqueueing costs that
long at most (the beat's sweeps also enqueue without a flag). When Redis cannot be reached the task is enqueued as if
claimed (and kept in the outbox if the broker is unreachable too, `shared_apps.core.transactions`).

Without a broker, tasks enqueued here run on a pool of threads per queue (the queue the task is routed to by
CELERY_TASK_ROUTES, "celery" by default; `TASKS_IN_PROCESS_THREADS` threads, or the queue's own number in
`TASKS_IN_PROCESS_QUEUE_THREADS`), in the enqueuing schema and request context. `TASKS_IN_PROCESS_THREADS = 0` (the
test settings) runs them in the committing thread, as every other task without a broker.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import redis
from django.conf import settings
from django.db import close_old_connections, transaction

from shared_apps.core import context
from shared_apps.core.transactions import publish_or_keep

logger = logging.getLogger(__name__)

REDIS_PREFIX = "atrium:pending:"


# --- the flags -----------------------------------------------------------------------------------------------------


class LocalFlags:
    """Flags of this process (tasks run in it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._until: dict[str, float] = {}

    def claim(self, key: str, *, ttl: float) -> bool:
        now = time.monotonic()
        with self._lock:
            if self._until.get(key, 0.0) > now:
                return False
            self._until[key] = now + ttl
            return True

    def release(self, key: str) -> None:
        with self._lock:
            self._until.pop(key, None)

    def forget(self) -> None:
        """Every flag of this process cleared (tests: one that enqueued to an outbox leaves its flag set)."""
        with self._lock:
            self._until.clear()


class RedisFlags:
    """Flags in Redis, seen by every process of a deployment."""

    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)

    def claim(self, key: str, *, ttl: float) -> bool:
        try:
            return bool(self.client.set(REDIS_PREFIX + key, b"1", nx=True, ex=max(int(ttl), 1)))
        except redis.RedisError:
            logger.warning("redis unreachable: task enqueued without checking for a waiting one", extra={"key": key})
            return True

    def release(self, key: str) -> None:
        try:
            self.client.delete(REDIS_PREFIX + key)
        except redis.RedisError:
            logger.warning("redis unreachable: a pending flag is left to expire", extra={"key": key})


class NoFlags:
    """Nothing shared to coordinate with: every claim succeeds."""

    def claim(self, key: str, *, ttl: float) -> bool:
        return True

    def release(self, key: str) -> None:
        return None


_local = LocalFlags()
_redis: dict[str, RedisFlags] = {}
_redis_lock = threading.Lock()


def flags() -> LocalFlags | RedisFlags | NoFlags:
    """Where the flags live now (read from the settings at each call: tests switch the broker on and off)."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return _local
    url = str(settings.CELERY_BROKER_URL or "")
    if not url.startswith(("redis://", "rediss://", "unix://")):
        return NoFlags()
    with _redis_lock:
        if url not in _redis:
            _redis[url] = RedisFlags(url)
        return _redis[url]


def local_forget() -> None:
    """Clear this process's flags (each test starts with no run waiting)."""
    _local.forget()


def claim(key: str) -> bool:
    """Set `key`'s flag; False if it was set already (a run is waiting)."""
    return flags().claim(key, ttl=float(settings.TASKS_COALESCE_SECONDS))


def release(key: str) -> None:
    """Clear `key`'s flag: the task calls this first, before reading what it works on."""
    flags().release(key)


# --- enqueueing ----------------------------------------------------------------------------------------------------


def enqueue_once_on_commit(task: Any, /, *, key: str, schema_name: str, **kwargs: Any) -> None:
    """After the current transaction commits (at once outside one): `task` in `schema_name`, unless a run for `key`
    is already waiting. The task must `release(key)` before it reads."""
    transaction.on_commit(lambda: enqueue_once(task, key=key, schema_name=schema_name, **kwargs))


def enqueue_once(task: Any, /, *, key: str, schema_name: str, **kwargs: Any) -> bool:
    """`task` in `schema_name` now, unless a run for `key` is already waiting; True if this call enqueued it."""
    if not claim(key):
        return False
    threads = int(getattr(settings, "TASKS_IN_PROCESS_THREADS", 0))
    if settings.CELERY_TASK_ALWAYS_EAGER and threads > 0:
        queue = _queue_of(task)
        threads = int(getattr(settings, "TASKS_IN_PROCESS_QUEUE_THREADS", {}).get(queue, threads))
        try:
            _pool(queue, threads).submit(_run, task, schema_name, kwargs, context.current())
        except RuntimeError:  # the interpreter is shutting down: run it here
            release(key)
            return publish_or_keep(task, schema_name=schema_name, schema=schema_name, kwargs=kwargs)
        return True
    if not publish_or_keep(task, schema_name=schema_name, schema=schema_name, kwargs=kwargs):
        release(key)  # neither sent nor kept: the next commit must be able to ask again
        return False
    return True


def _queue_of(task: Any) -> str:
    routes = getattr(settings, "CELERY_TASK_ROUTES", None) or {}
    return str((routes.get(getattr(task, "name", "")) or {}).get("queue", "celery"))


_pools: dict[str, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def _pool(queue: str, threads: int) -> ThreadPoolExecutor:
    with _pools_lock:
        if queue not in _pools:
            _pools[queue] = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=f"atrium-tasks-{queue}")
        return _pools[queue]


def _run(task: Any, schema_name: str, kwargs: dict[str, Any], bound: context.RequestContext) -> None:
    """One task on a pool thread: in its schema and the enqueuing request's context; the thread's database
    connection is closed or kept as a request's would be (CONN_MAX_AGE)."""
    try:
        with context.bound(bound):
            publish_or_keep(task, schema_name=schema_name, schema=schema_name, kwargs=kwargs)
    finally:
        close_old_connections()
