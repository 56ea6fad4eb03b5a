"""The live bus: small messages from whichever process made a change to every process holding open streams.

Two transports, one interface:

- Redis pub/sub when `REDIS_URL` is set (what production runs: web, worker and stream servers share it);
- PostgreSQL `NOTIFY` / `LISTEN` otherwise (the embedded default, so `make run`'s processes share it with no Redis).
  `LISTEN` needs a session of its own: the listener uses the `direct` alias when DATABASE_URL goes through a
  transaction pooler.

`publish(message)` sends after the current transaction commits (with PostgreSQL, `pg_notify` is itself delivered at
commit, so a rolled-back change announces nothing either way). Each process runs one listener thread, started by the
first subscriber, that hands every message to the subscriptions whose `accepts(message)` is true; a subscription
decides itself which workspace and which objects it wants (the bus carries every workspace's messages on one channel
and knows nothing of tenants). A message says *that* something changed (type, workspace schema, ids), never the
data: a page that hears of a change asks for it again with its viewer's own permissions.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, connections, transaction

logger = logging.getLogger(__name__)

CHANNEL = "atrium_live"
Message = dict[str, Any]


@dataclass(eq=False)
class Subscription:
    """One open stream's interest: `accepts` filters (cheap, no I/O: it runs on the listener thread), `deliver`
    hands the message over (a queue's put, thread-safe)."""

    accepts: Callable[[Message], bool]
    deliver: Callable[[Message], None]
    hub: Hub | None = field(default=None, repr=False)

    def close(self) -> None:
        if self.hub is not None:
            self.hub.unsubscribe(self)


def _use_redis() -> bool:
    return bool(getattr(settings, "REDIS_URL", ""))


def publish(message: Message) -> None:
    """Send `message` to every process's subscriptions, once the current transaction commits."""
    payload = json.dumps(message, separators=(",", ":"))
    if _use_redis():
        transaction.on_commit(lambda: _redis_publish(payload))
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, payload])


def _redis_publish(payload: str) -> None:
    try:
        _redis_client().publish(CHANNEL, payload)
    except Exception:  # a lost live message is a page that updates on its next event or reload, never an error
        logger.warning("live message not published", exc_info=True)


_redis: Any = None


def _redis_client() -> Any:
    global _redis
    if _redis is None:
        import redis  # noqa: PLC0415  (only with REDIS_URL)

        _redis = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=2)
    return _redis


class Hub:
    """This process's listener and its subscriptions."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscriptions: set[Subscription] = set()
        self._thread: threading.Thread | None = None
        self.ready = threading.Event()
        self.stopping = threading.Event()
        self.received = 0

    def subscribe(self, accepts: Callable[[Message], bool], deliver: Callable[[Message], None]) -> Subscription:
        subscription = Subscription(accepts=accepts, deliver=deliver, hub=self)
        with self._lock:
            self._subscriptions.add(subscription)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="atrium-live-listener", daemon=True)
                self._thread.start()
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscriptions.discard(subscription)

    def count(self) -> int:
        return len(self._subscriptions)

    def fan_out(self, raw: str | bytes) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            return
        self.received += 1
        with self._lock:
            subscriptions = list(self._subscriptions)
        for subscription in subscriptions:
            try:
                if subscription.accepts(message):
                    subscription.deliver(message)
            except Exception:
                logger.exception("live subscription failed")

    def stop(self) -> None:
        """End the listener (tests, before their database goes); a later subscriber starts a new one."""
        self.stopping.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=5)
        self._thread = None
        self.stopping.clear()

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                if _use_redis():
                    self._listen_redis()
                else:
                    self._listen_postgres()
            except Exception:
                logger.warning("live listener lost its connection; reconnecting", exc_info=True)
            self.ready.clear()
            if not self.stopping.is_set():
                time.sleep(1)

    def _listen_redis(self) -> None:
        pubsub = _redis_client().pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(CHANNEL)
        self.ready.set()
        try:
            while not self.stopping.is_set():
                item = pubsub.get_message(timeout=0.5)
                if item is not None and item.get("type") == "message":
                    self.fan_out(item["data"])
        finally:
            pubsub.close()

    def _listen_postgres(self) -> None:
        import psycopg  # noqa: PLC0415  (the listener's own session, outside Django's connection handling)

        with psycopg.connect(_conninfo(), autocommit=True) as conn:
            conn.execute(f"LISTEN {CHANNEL}")
            self.ready.set()
            while not self.stopping.is_set():
                for notify in conn.notifies(timeout=0.5):
                    self.fan_out(notify.payload)


def _conninfo() -> str:
    alias = "direct" if "direct" in connections.settings else "default"
    params = connections[alias].get_connection_params()
    keep = ("host", "port", "dbname", "user", "password", "sslmode")
    parts = {key: params[key] for key in keep if params.get(key)}
    if "dbname" not in parts and params.get("database"):
        parts["dbname"] = params["database"]
    from psycopg.conninfo import make_conninfo  # noqa: PLC0415  (as above)

    return make_conninfo("", **{key: str(value) for key, value in parts.items()})


_hub: Hub | None = None
_hub_lock = threading.Lock()


def hub() -> Hub:
    """This process's hub (made on first use)."""
    global _hub
    with _hub_lock:
        if _hub is None:
            _hub = Hub()
        return _hub
