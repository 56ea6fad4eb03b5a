"""Liveness and readiness, answered on any host before routing, so load balancers can probe by IP.

- `/healthz`: the process is up. No database, no cache. Always 200.
- `/readyz`: every dependency answers: database, cache, and (when configured) Redis, storage and the Celery broker,
  each within READYZ_TIMEOUT seconds (a dependency that hangs fails the probe instead of hanging it). 503 names the
  failing parts. The database's entry also says how it is reached (`pooling`: none, session or transaction).
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable

import redis
from django.conf import settings
from django.core.cache import caches
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from kombu import Connection

Check = Callable[[], None]


def _timeout() -> float:
    return float(getattr(settings, "READYZ_TIMEOUT", 2.0))


def _check_database() -> None:
    # A timeout local to this transaction, set back after (inside an outer transaction it would outlive the check).
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('statement_timeout'), set_config('statement_timeout', %s, true)",
            [f"{int(_timeout() * 1000)}ms"],
        )
        previous = cursor.fetchone()[0]
        cursor.execute("SELECT 1")
        cursor.execute("SELECT set_config('statement_timeout', %s, true)", [previous])


def _check_redis() -> None:

    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=_timeout(), socket_timeout=_timeout())
    try:
        client.ping()
    finally:
        client.close()


def _check_cache() -> None:
    cache = caches["shared"]
    key = f"readyz:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=5)
    if cache.get(key) != "1":
        raise RuntimeError("cache did not return the value just written")
    cache.delete(key)


def _check_broker() -> None:

    timeout = _timeout()
    options = {"socket_timeout": timeout, "socket_connect_timeout": timeout, "max_retries": 0}
    with Connection(settings.CELERY_BROKER_URL, connect_timeout=timeout, transport_options=options) as conn:
        conn.ensure_connection(
            max_retries=1, interval_start=0, interval_step=0, interval_max=0, timeout=math.ceil(timeout)
        )


def _check_storage() -> None:

    ping = getattr(default_storage, "ping", None)  # the bucket answers (S3), or the folder is writable
    if ping is not None:
        ping()


def readiness_checks() -> dict[str, Check]:
    checks: dict[str, Check] = {"database": _check_database, "cache": _check_cache}
    if settings.REDIS_URL:
        checks["redis"] = _check_redis
    if settings.STORAGES["default"]["BACKEND"] != "django.core.files.storage.InMemoryStorage":
        checks["storage"] = _check_storage
    if settings.CELERY_BROKER_URL:
        checks["broker"] = _check_broker
    return checks


def readiness() -> tuple[bool, dict[str, dict[str, object]]]:
    results: dict[str, dict[str, object]] = {}
    for name, check in readiness_checks().items():
        started = time.perf_counter()
        try:
            check()
        except Exception as exc:  # noqa: BLE001  (any failure means "not ready"; the reason is reported)
            results[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
        else:
            results[name] = {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}
    if "database" in results:
        # How DATABASE_URL reaches PostgreSQL (none, session, transaction): DATABASE_POOLING.
        results["database"]["pooling"] = str(connection.settings_dict.get("POOLING") or "none")
    return all(r["ok"] for r in results.values()), results


class HealthCheckMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info.rstrip("/")
        if path == "/healthz":
            return JsonResponse({"status": "ok"})
        if path == "/readyz":
            ok, checks = readiness()
            failing = [name for name, result in checks.items() if not result["ok"]]
            body = {"status": "ok" if ok else "unavailable", "failing": failing, "checks": checks}
            return JsonResponse(body, status=200 if ok else 503)
        return self.get_response(request)
