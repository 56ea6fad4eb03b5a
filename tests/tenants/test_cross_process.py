"""A change made by one process reaches a running server within TENANT_ROUTING_LOCAL_TTL, on every configuration.

The server is `manage.py runserver` in a subprocess on the test database, with the test settings and whatever cache
they pick (the database cache without REDIS_URL, Redis with it); the change is `manage.py tenant suspend` in another
process. With a per-process cache (LocMemCache) the server would keep serving its cached route for
TENANT_ROUTING_SHARED_TTL (300 s), and this test fails.
"""

from __future__ import annotations

import http.client
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings

from tests.helpers import subprocess_env

LOCAL_TTL = 1.0  # the server's TENANT_ROUTING_LOCAL_TTL
MARGIN = 4.0  # a request's own time, on a busy machine
SLUG = "xproc"

# The database must be set up for this test; its transaction stays empty (the test process writes nothing).
pytestmark = pytest.mark.django_db


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _manage(*args: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=settings.BASE_DIR,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@dataclass
class Server:
    port: int
    env: dict[str, str]

    def status(self, host: str, path: str = "/login/") -> int:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", path, headers={"Host": f"{host}:{self.port}"})
            return conn.getresponse().status
        finally:
            conn.close()


@pytest.fixture
def server(_session_tenants: Any) -> Iterator[Server]:
    """A workspace made by the `tenant` command (committed, as the server must see it) and a server on a free port.
    Everything here is committed by other processes, and removed at the end."""
    port = _free_port()
    env = subprocess_env(TENANT_ROUTING_LOCAL_TTL=str(LOCAL_TTL), TENANT_POOL_SIZE="0", SITE_PORT=str(port))
    _manage("tenant", "create", "--slug", SLUG, "--name", "Cross Process", "--owner-email", "o@xproc.test", env=env)
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", "--skip-checks", f"127.0.0.1:{port}"],
        env=env,
        cwd=settings.BASE_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120  # a server starting on a busy two-core machine
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    process.kill()
                    pytest.fail("runserver did not start: " + (process.communicate()[0] or ""))
                time.sleep(0.1)
        yield Server(port=port, env=env)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        _manage("tenant", "delete", SLUG, "--yes", env=env)


def test_a_suspension_from_another_process_reaches_a_running_server_within_the_local_ttl(server: Server) -> None:
    host = f"{SLUG}.{settings.BASE_DOMAIN}"
    # given: the server has routed the host (its local and the shared cache hold the active route)
    assert server.status(host) == 200
    assert server.status(host) == 200

    # when: another process suspends the workspace
    _manage("tenant", "suspend", SLUG, "--reason", "cross-process test", env=server.env)
    suspended_at = time.monotonic()

    # then: the server answers the suspension page within the local TTL (its own cache expiring), not the shared TTL
    statuses = []
    while time.monotonic() - suspended_at < LOCAL_TTL + MARGIN:
        statuses.append(server.status(host))
        if statuses[-1] == 403:
            break
        time.sleep(0.1)
    elapsed = time.monotonic() - suspended_at
    assert statuses[-1] == 403, f"still {statuses[-1]} after {elapsed:.1f}s: the server's caches are its own"
    assert set(statuses[:-1]) <= {200}
