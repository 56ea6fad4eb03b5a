"""Caches: "default" keys carry the schema (no entry crosses tenants); "shared" is for platform-wide data that must be
the same on every host (routing, rate limits). Both are seen by every process of a deployment: Redis when REDIS_URL
is set (required in production), else Django's database cache on two public-schema tables (created by migration
tenants/0003), so a change made by one process (`manage.py tenant suspend`) reaches a running server too."""

from __future__ import annotations

from typing import Any

from config.env import env

REDIS_URL: str = env.str("REDIS_URL", default="")
# On-demand TLS: the proxy asks /internal/tls-allowed?domain= before getting a certificate (tenants/tls.py).
TLS_ASK_SECRET: str = env.str("TLS_ASK_SECRET", default="")
TLS_ASK_RATE_PER_MINUTE: int = env.int("TLS_ASK_RATE_PER_MINUTE", default=600)
READYZ_TIMEOUT: float = env.float("READYZ_TIMEOUT", default=2.0)  # seconds each /readyz check may take


def cache_backend(table: str) -> dict[str, Any]:
    """One cache: Redis at REDIS_URL, or the database cache on `table` when REDIS_URL is unset."""
    if REDIS_URL:
        # Redis unreachable is a cache miss (logged), never a failed page; short timeouts so that an unreachable Redis
        # costs a request little (shared_apps/core/cache.py).
        return {
            "BACKEND": "shared_apps.core.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2},
        }
    # Every `set` counts the table's rows to decide on culling; the default limit (300) is too low for routes (one
    # per host: 10,000 workspaces are 10,000 entries or more).
    return {
        "BACKEND": "shared_apps.core.cache.PublicDatabaseCache",
        "LOCATION": table,
        "OPTIONS": {"MAX_ENTRIES": 50_000},
    }


CACHES: dict[str, dict[str, Any]] = {
    "default": {
        **cache_backend("atrium_cache"),
        # Keys carry the schema, except allauth's rate-limit keys, which must be the same on every host.
        "KEY_FUNCTION": "tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "tenants.cache.reverse_key",
    },
    "shared": {**cache_backend("atrium_cache_shared"), "KEY_PREFIX": "shared"},
}
