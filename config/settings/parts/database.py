"""The database: PostgreSQL through django-tenants' backend, directly or through a pooler, plus a direct connection
for migrations and advisory locks. Without DATABASE_URL, the embedded development database."""

from __future__ import annotations

from typing import Any

from config.env import env


def database_config(url: str, *, pooling: str = "none") -> dict[str, Any]:
    """One alias's settings. `pooling` says how the URL reaches PostgreSQL: directly ("none"), or through a pooler in
    "session" or "transaction" mode (PgBouncer, RDS Proxy, Supavisor …)."""
    config: dict[str, Any] = env.db_url_config(url)
    config["ENGINE"] = "tenants.postgresql_backend"  # django-tenants' backend, statements that name their schema
    config["POOLING"] = pooling
    options = config.setdefault("OPTIONS", {})
    if "host" in options:  # postgresql://user@/db?host=/socket/dir
        config["HOST"] = options.pop("host")
    # Seconds to wait for a connection before the request fails (a 503 page: shared_apps.core.api.handler500),
    # rather than hang while the server restarts or fails over.
    options.setdefault("connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5))
    config["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
    # A persistent connection is checked before a request reuses it: after a database restart the next request
    # reconnects by itself (no application restart).
    config["CONN_HEALTH_CHECKS"] = True
    if pooling == "transaction":
        # A transaction pooler hands each transaction to any server connection: nothing may outlive a statement or
        # a transaction on the server. No prepared statements (psycopg's are per server connection) and no
        # server-side cursors (a named cursor outlives the statement that opened it).
        options["prepare_threshold"] = None
        config["DISABLE_SERVER_SIDE_CURSORS"] = True
    return config


DATABASE_URL: str = env.str("DATABASE_URL", default="")
if not DATABASE_URL:
    from config.embedded_db import embedded_database_url

    DATABASE_URL = embedded_database_url()
# How DATABASE_URL reaches PostgreSQL: "none" (directly), "session" or "transaction" (a pooler in that mode). Atrium
# keeps no tenancy in connection state, so transaction pooling is safe (docs/tenancy.md, "Connection poolers").
DATABASE_POOLING: str = env.str("DATABASE_POOLING", default="none").strip().lower()
if DATABASE_POOLING not in ("none", "session", "transaction"):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f"DATABASE_POOLING must be none, session or transaction, not {DATABASE_POOLING!r}.")
# A connection that bypasses the pooler, for what needs a server session of its own: migrations (`migrate_schemas`
# runs wholly on it) and the advisory locks that keep two pool refills or metrics refreshes from running at once.
# Without a transaction pooler it may stay unset (DATABASE_URL is direct enough).
DATABASE_DIRECT_URL: str = env.str("DATABASE_DIRECT_URL", default="") or DATABASE_URL
DATABASES: dict[str, dict[str, Any]] = {
    "default": database_config(DATABASE_URL, pooling=DATABASE_POOLING),
    # The same database: in tests it is the test database too (a mirror, not a second one to create).
    "direct": {**database_config(DATABASE_DIRECT_URL), "TEST": {"MIRROR": "default"}},
}
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
