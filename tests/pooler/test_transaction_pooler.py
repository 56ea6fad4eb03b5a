"""Isolation behind PgBouncer in transaction mode (the site: tests/pooler/conftest.py).

Twelve workspaces, each with a project named with its own marker, read and written at once through pages, the API and
a Celery task per workspace, by more client threads than the site has server threads and ten times more than PgBouncer
has server connections (3): every answer must carry its own workspace's marker and no other, every acknowledged write
must be in its own schema, every task's row in its own schema. Then the isolation sweep over real HTTP while the other
workspaces keep the pool busy; then the commands that migrate and provision, pointed at the pooler.

Before statements named their schema, the same site answered most requests with another workspace's projects.
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import psycopg
import pytest
from django.conf import settings
from django_tenants.utils import schema_context

from config.celery import app as celery_app
from shared_apps.workspaces.tasks import workspace_welcome
from tenant_apps.projects.services import WELCOME_PROJECT_NAME
from tests.helpers import wait_until
from tests.pooler.conftest import SERVER_CONNECTIONS, WORKSPACES, PooledSite
from tests.tenants import test_isolation_sweep as sweep_module

pytestmark = [pytest.mark.pooler, pytest.mark.django_db]

MARKER = re.compile(rb"pmark\d\dq")
SECONDS = 6.0
EACH = 5  # every client thread makes at least this many calls, however slow the machine: a count, not a rate
CAP_SECONDS = 120.0


@dataclass
class Tally:
    answers: int = 0
    crossed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    written: dict[str, list[str]] = field(default_factory=dict)  # schema -> acknowledged task titles
    lock: threading.Lock = field(default_factory=threading.Lock)

    def judge(self, workspace: dict[str, Any], what: str, status: int, body: bytes) -> None:
        own = workspace["marker"].encode()
        others = {m for m in MARKER.findall(body) if m != own}
        with self.lock:
            self.answers += 1
            if status >= 400:
                self.failed.append(f"{what} {workspace['host']}: {status} {body[:200]!r}")
            elif others or (status == 200 and own not in body):
                title = re.search(rb"<title>(.*?)</title>", body)
                shown = title.group(1) if title else body[:300]
                self.crossed.append(f"{what} {workspace['host']}: own={own in body} others={sorted(others)} {shown!r}")


def _reader(site: PooledSite, workspace: dict[str, Any], tally: Tally, until: float, kind: str) -> None:
    """Calls for the whole window and at least EACH times (a shared noisy machine may be slow), within CAP_SECONDS."""
    number = 0
    calls = 0
    cap = until + CAP_SECONDS
    while (time.monotonic() < until or calls < EACH) and time.monotonic() < cap:
        calls += 1
        if kind == "api":
            status, body, _ = site.call(workspace["host"], "/api/v1/projects/", key=workspace["key"])
            tally.judge(workspace, "GET /api/v1/projects/", status, body)
        elif kind == "page":
            status, body, _ = site.call(workspace["host"], "/projects/", session=workspace["session"])
            tally.judge(workspace, "GET /projects/", status, body)
        else:  # a write, then read back through the API
            title = f"{workspace['marker']}-task-{number}"
            number += 1
            status, body, _ = site.call(
                workspace["host"],
                f"/api/v1/projects/{workspace['project']}/tasks/",
                method="POST",
                key=workspace["key"],
                body=json.dumps({"title": title}).encode(),
                content_type="application/json",
            )
            tally.judge(workspace, "POST tasks", status, body)
            if status == 201:
                with tally.lock:
                    tally.written.setdefault(workspace["schema"], []).append(title)


def _run(site: PooledSite, kinds: tuple[str, ...], seconds: float) -> Tally:
    tally = Tally()
    until = time.monotonic() + seconds
    threads = [
        threading.Thread(target=_reader, args=(site, w, tally, until, kind))
        for w in site.world["workspaces"]
        for kind in kinds
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + CAP_SECONDS + 60)
    return tally


def _rows(site: PooledSite, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(site.direct_url, autocommit=True) as conn:
        return [tuple(r) for r in conn.execute(sql, params).fetchall()]


@pytest.fixture
def publish_to_site(pooled_site: PooledSite, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Celery publishes to the site's broker (its worker takes the messages) instead of running tasks in-process."""
    monkeypatch.setitem(celery_app.conf, "task_always_eager", False)
    monkeypatch.setitem(celery_app.conf, "broker_url", pooled_site.broker)
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    yield
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


def test_twelve_workspaces_through_three_server_connections_never_see_each_other(
    pooled_site: PooledSite, publish_to_site: None
) -> None:
    site = pooled_site
    workspaces = site.world["workspaces"]
    assert len(workspaces) >= 12
    _run(site, ("api",), 0.5)  # warm every server thread (URLconfs, a connection each)

    # when: a task per workspace on the worker, and pages, API reads and API writes of all twelve at once
    for workspace in workspaces:
        with schema_context(workspace["schema"]):
            workspace_welcome.apply_async(kwargs={"owner_email": workspace["owner_email"]}, queue=site.queue)
    tally = _run(site, ("api", "page", "write"), SECONDS)
    clients = [c for c in _clients(site) if c.get("database") == site.database]

    # then: every answer its own workspace's, and only its own
    assert not tally.failed, tally.failed[:10]
    assert not tally.crossed, f"{len(tally.crossed)} of {tally.answers} answers crossed: {tally.crossed[:10]}"
    assert tally.answers >= 3 * WORKSPACES * EACH, tally.answers
    # through at most 3 server connections, for many more client connections (8 server threads, 4 worker threads)
    assert site.bouncer.server_connections(site.database) <= SERVER_CONNECTIONS
    assert len(clients) > SERVER_CONNECTIONS, clients

    # every acknowledged write is in its own schema, and no schema holds another's marker
    for workspace in workspaces:
        schema = workspace["schema"]
        titles = {t for (t,) in _rows(site, f'SELECT title FROM "{schema}".projects_task')}  # noqa: S608
        assert set(tally.written.get(schema, [])) <= titles, schema
        strangers = {t for t in titles if not t.startswith(workspace["marker"])}
        assert not strangers, (schema, sorted(strangers)[:5])
        names = {n for (n,) in _rows(site, f'SELECT name FROM "{schema}".projects_project')}  # noqa: S608
        assert not {n for n in names if MARKER.search(n.encode()) and workspace["marker"] not in n}, names

    # each workspace's task made its welcome project in its own schema, once
    def welcomed() -> bool:
        return all(_welcome_projects(site, w["schema"]) >= 1 for w in workspaces)

    wait_until("every workspace's welcome task", welcomed, timeout=90, every=0.2)
    assert [_welcome_projects(site, w["schema"]) for w in workspaces] == [1] * len(workspaces)


def _welcome_projects(site: PooledSite, schema: str) -> int:
    rows = _rows(site, f'SELECT count(*) FROM "{schema}".projects_project WHERE name = %s', [str(WELCOME_PROJECT_NAME)])  # noqa: S608
    return int(rows[0][0])


def _clients(site: PooledSite) -> list[dict[str, Any]]:
    with psycopg.connect(site.bouncer.url("pgbouncer"), autocommit=True, prepare_threshold=None) as conn:
        cursor = conn.execute("SHOW CLIENTS")
        names = [c.name for c in cursor.description or []]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


class _HttpClient:
    """The sweep's client over real HTTP: a session cookie (with a CSRF token, so writes reach the views) or a key."""

    def __init__(self, site: PooledSite, host: str, *, session: str = "", key: str = "") -> None:
        self.site, self.host, self.session, self.key = site, host, session, key
        self.csrf = secrets.token_hex(16)  # a 32-character secret: sent as the cookie and the header

    def get(self, path: str) -> _Response:
        return self.generic("GET", path)

    def generic(self, method: str, path: str, data: Any = None, content_type: str = "") -> _Response:
        body = data.encode() if isinstance(data, str) else data
        status, content, headers = self.site.call(
            self.host,
            path,
            method=method,
            key=self.key,
            session=self.session,
            body=body if method != "GET" else None,
            content_type=content_type if method != "GET" else "",
            csrf=self.csrf if self.session else "",
        )
        return _Response(status, content, headers)


@dataclass
class _Response:
    status_code: int
    content: bytes
    headers: dict[str, str]
    streaming: bool = False

    def get(self, name: str, default: str = "") -> str:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), default)


def test_the_isolation_sweep_through_the_pooler_while_other_workspaces_keep_it_busy(pooled_site: PooledSite) -> None:
    site = pooled_site
    world_data = site.world["sweep"]
    world = sweep_module.World(a=world_data["a"], b=world_data["b"])
    sessions = iter(world_data["sessions"])
    patterns = sweep_module.swept_patterns()
    assert not sweep_module.unfilled_patterns(patterns)
    busy = threading.Event()
    busy.set()
    tally = Tally()

    def noise(workspace: dict[str, Any]) -> None:
        while busy.is_set():
            status, body, _ = site.call(workspace["host"], "/api/v1/projects/", key=workspace["key"])
            tally.judge(workspace, "GET /api/v1/projects/", status, body)

    threads = [threading.Thread(target=noise, args=(w,)) for w in site.world["workspaces"][:6]]
    for thread in threads:
        thread.start()
    try:
        failures, swept = sweep_module.sweep(
            patterns,
            world,
            signed_in=lambda: _HttpClient(site, world_data["host"], session=next(sessions)),
            key_client=_HttpClient(site, world_data["host"], key=world_data["key"]),
        )
    finally:
        busy.clear()
        for thread in threads:
            thread.join(timeout=60)

    assert not failures, f"{len(failures)} of {swept} requests reached or showed workspace B:\n  " + "\n  ".join(
        failures
    )
    assert swept > 2 * len(patterns)
    assert site.seed("b-state") == site.world["b_state"], "workspace B's rows changed"
    assert not tally.crossed, tally.crossed[:10]
    assert tally.answers > 0


def _manage(site: PooledSite, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        env=site.env, cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def _schema_of(site: PooledSite, host: str) -> str:
    rows = _rows(
        site,
        "SELECT t.schema_name FROM public.tenants_tenant t JOIN public.tenants_domain d ON d.tenant_id = t.id "
        "WHERE d.domain = %s",
        [host],
    )
    assert rows, host
    return str(rows[0][0])


def test_commands_that_migrate_and_provision_work_pointed_at_the_pooler(pooled_site: PooledSite) -> None:
    site = pooled_site

    # migrate_schemas moves itself to DATABASE_DIRECT_URL; the fast path (pool empty) replays DDL in one transaction;
    # the pool fill holds its advisory lock on the direct connection; a signup then claims a spare
    migrated = _manage(site, "migrate_schemas", "--noinput")
    fast = _manage(
        site, "tenant", "create", "--slug", "pooled-fast", "--name", "Fast", "--owner-email", "f@pooled.test"
    )
    filled = _manage(site, "tenant", "pool", "fill")
    claimed = _manage(
        site, "tenant", "create", "--slug", "pooled-pool", "--name", "Pool", "--owner-email", "p@pooled.test"
    )
    seeded = _manage(site, "seed_demo")

    for done in (migrated, fast, filled, claimed, seeded):
        assert done.returncode == 0, " ".join(done.args) + "\n" + done.stdout[-2000:] + done.stderr[-3000:]
    assert "0 failed" in migrated.stdout or "failed" not in migrated.stdout.lower(), migrated.stdout[-2000:]
    assert "the pool holds" in filled.stdout, filled.stdout
    for slug in ("pooled-fast", "pooled-pool", "demo"):
        host = f"{slug}.{settings.BASE_DOMAIN}"
        status, body, _ = site.call(host, "/api/v1/projects/")
        assert status == 401, (host, body[:300])  # routed (an unknown host would be a 404)
        schema = _schema_of(site, host)
        assert _rows(site, f'SELECT count(*) FROM "{schema}".projects_project')  # noqa: S608  (its tables exist)


def test_the_readiness_check_reports_the_pooling_mode(pooled_site: PooledSite) -> None:
    status, body, _ = pooled_site.call("localhost", "/readyz")
    assert status == 200, body[:300]
    assert json.loads(body)["checks"]["database"]["pooling"] == "transaction"


def test_a_form_post_through_the_pooler_lands_in_its_own_workspace(pooled_site: PooledSite) -> None:
    site = pooled_site
    workspace = site.world["workspaces"][0]
    client = _HttpClient(site, workspace["host"], session=workspace["session"])
    name = f"{workspace['marker']} from a form"

    response = client.generic(
        "POST",
        "/projects/new/",
        urlencode({"name": name, "visibility": "workspace"}),
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code in (302, 303), (response.status_code, response.content[:300])
    for other in site.world["workspaces"]:
        names = {n for (n,) in _rows(site, f'SELECT name FROM "{other["schema"]}".projects_project')}  # noqa: S608
        assert (name in names) == (other is workspace)
