"""Atrium behind a real PgBouncer in transaction mode, as large deployments run it.

One site per module: a private PostgreSQL cluster (tests/faults/servers.py) holding a copy of the test database plus
the seeded world (tests/pooler/seed.py: twelve workspaces and the isolation sweep's), Debian's PgBouncer in front of it
in **transaction** mode with a pool of **3** server connections, gunicorn (2 workers x 4 threads, persistent
connections) and a Celery worker (4 threads) whose DATABASE_URL is the pooler, and a redis-server of its own as the
Celery broker. DATABASE_DIRECT_URL is the cluster itself, as the deployment guide says. The caches are the ones the
test run has (the database cache through the pooler on the embedded default; Redis when REDIS_URL is set).

Without a pgbouncer binary the tests skip and say how to install it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings

from tenants.db import connection
from tests import pgbouncer
from tests.faults.servers import (
    PrivatePostgres,
    celery_worker,
    copy_refusal,
    free_port,
    gunicorn,
    redis_available,
    redis_server,
)
from tests.faults.servers import stop as stop_process
from tests.helpers import database_url_for_tests, subprocess_env

WORKSPACES = 12
SERVER_CONNECTIONS = 3


@dataclass
class PooledSite:
    port: int
    bouncer: pgbouncer.PgBouncer
    database: str
    direct_url: str
    broker: str
    queue: str
    world: dict[str, Any]
    env: dict[str, str]

    def call(
        self,
        host: str,
        path: str,
        *,
        method: str = "GET",
        key: str = "",
        session: str = "",
        body: bytes | None = None,
        content_type: str = "",
        csrf: str = "",
    ) -> tuple[int, bytes, dict[str, str]]:
        headers = {"Host": host}
        cookies = []
        if session:
            cookies.append(f"sessionid={session}")
        if csrf:
            cookies.append(f"csrftoken={csrf}")
            headers["X-CSRFToken"] = csrf
        if cookies:
            headers["Cookie"] = "; ".join(cookies)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        if content_type:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=body, headers=headers, method=method
        )
        opener = urllib.request.build_opener(_NoRedirect())
        try:
            with opener.open(request, timeout=60) as response:
                return response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, error.read(), dict(error.headers)

    def seed(self, *args: str) -> Any:
        """`python -m tests.pooler.seed …` on the cluster, directly: its JSON line."""
        done = subprocess.run(
            [sys.executable, "-m", "tests.pooler.seed", *args],
            env={**self.env, "DATABASE_URL": self.direct_url, "DATABASE_POOLING": "none"},
            cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.strip().splitlines()[-1])


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect is an answer to look at (the sign-in page), not to follow


@pytest.fixture(scope="module")
def pooled_site(_session_tenants: Any, django_db_blocker: Any) -> Iterator[PooledSite]:
    if pgbouncer.binary() is None:
        pytest.skip(f"no pgbouncer binary: {pgbouncer.INSTALL_HINT}")
    if not redis_available():
        pytest.skip("no redis-server binary (the Celery broker of the pooled site): apt-get install redis-server")
    with django_db_blocker.unblock():
        major = connection.pg_version // 10000
    refusal = copy_refusal(database_url_for_tests())
    if refusal:
        pytest.skip(refusal)
    cluster = PrivatePostgres(major=major)
    processes: list[Any] = []
    try:
        cluster.start()
        database = f"pooler_{uuid.uuid4().hex[:6]}"
        direct_url = cluster.copy_database(database_url_for_tests(), database)
        bouncer = pgbouncer.PgBouncer(cluster.url(), mode="transaction", pool_size=SERVER_CONNECTIONS)
        with bouncer, redis_server(free_port()) as (_redis, redis_port):
            broker = f"redis://127.0.0.1:{redis_port}/0"
            queue = f"pooler-{uuid.uuid4().hex[:8]}"
            env = subprocess_env(
                DATABASE_URL=bouncer.url(database),
                DATABASE_POOLING="transaction",
                DATABASE_DIRECT_URL=direct_url,
                CONN_MAX_AGE="60",
                CELERY_BROKER_URL=broker,
                CELERY_RESULT_BACKEND="",
                LOG_LEVEL="WARNING",
            )
            site = PooledSite(
                port=free_port(),
                bouncer=bouncer,
                database=database,
                direct_url=direct_url,
                broker=broker,
                queue=queue,
                world={},
                env=env,
            )
            site.world = site.seed("world", str(WORKSPACES))
            try:
                processes.append(gunicorn(env, port=site.port, threads=4, workers=2))
                processes.append(celery_worker(env, queue=queue, pool="threads", concurrency=4))
                yield site
            finally:
                for log in [stop_process(p) for p in processes]:
                    if '"level": "ERROR"' in log or "\nTraceback" in log:  # shown with a failing test's output
                        start = log.index("Traceback")
                        print(log[max(0, start - 500) : start + 4000])
    finally:
        cluster.close()
