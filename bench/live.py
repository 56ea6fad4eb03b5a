"""Live updates benchmark (`make bench-live`): 200 open streams over 20 workspaces, 50 changes a second for 30 s.

In a throwaway database (`atrium_bench_live`) on the server DATABASE_URL names (the embedded one by default),
dropped at the end:

  setup   20 workspaces (the production fast path), each with an owner, a project and 20 tasks whose ids are
          unique over the whole run (so a task id names its workspace); uvicorn serves `config.asgi` (one worker)
          on 127.0.0.1, as the production `stream` service does.
  streams 10 per workspace, each the owner's `/live/projects/<id>/stream/` opened with a real session cookie over
          HTTP/1.1 (asyncio sockets in this process).
  run     one writer moves a random task of a random workspace through `services.task_move` 50 times a second
          (each its own transaction): the commit runs the dispatcher in-process (no broker), whose `live` consumer
          announces it with `pg_notify` (no REDIS_URL) to uvicorn's listener, which hands it to the streams.
          Delivery is from the event's time (`occurred_at`, carried as `at`) to its arrival at a stream.
          cross_tenant counts frames naming a task of another workspace. server_rss_mb is uvicorn's resident
          memory with every stream open; per-stream memory is its growth from before the streams opened.

Last line: `live: streams=200 events=… delivery_p50_ms=… delivery_p95_ms=… cross_tenant=… server_rss_mb=…`
(targets: p95 ≤ 500 ms, cross_tenant=0, ≤ 100 KB per open stream).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import log, recreate_database, server_url, with_database  # noqa: E402

BENCH_DB = "atrium_bench_live"
TASKS = 20


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workspaces", type=int, default=20)
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--rate", type=float, default=50.0, help="changes a second")
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    base_url = server_url()
    recreate_database(base_url, BENCH_DB)
    try:
        _run(base_url, args)
    finally:
        from django.db import connections

        connections.close_all()
        recreate_database(base_url, BENCH_DB, drop_only=True)


def _run(base_url: str, args: argparse.Namespace) -> None:
    os.environ["DATABASE_URL"] = with_database(base_url, BENCH_DB)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ["TENANT_POOL_SIZE"] = "0"
    os.environ["LIVE_STREAM_MAX_SECONDS"] = "3600"
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    from tenant_apps.projects import services
    from tenants import provisioning
    from tenants import services as tenancy

    log("migrating the bench database…")
    call_command("migrate_schemas", interactive=False, verbosity=0)
    tenancy.public_tenant_ensure()
    provisioning.template_ensure()
    log(f"{args.workspaces} workspaces, a project and {TASKS} tasks each…")
    workspaces = [_workspace(number) for number in range(args.workspaces)]
    connections.close_all()

    port = free_port()
    server = _uvicorn(port)
    try:
        asyncio.run(_measure(server.pid, port, workspaces, args, services))
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def _workspace(number: int) -> dict:
    """A workspace made by the production fast path, its owner, a project and TASKS tasks with ids unique over the
    run, and a signed-in session's cookie."""
    from django.conf import settings
    from django.test import Client
    from django_tenants.utils import tenant_context

    from shared_apps.accounts.models import Membership, Role, User
    from shared_apps.accounts.sessions import SESSION_TENANT_KEY
    from tenant_apps.projects.models import Project, Task
    from tenants import provisioning
    from tenants.models import Domain, TenantStatus

    tenant, _via = provisioning.tenant_with_schema(
        name=f"Live {number}", status=TenantStatus.ACTIVE, method=provisioning.Method.FAST
    )
    host = f"live{number}.{settings.BASE_DOMAIN}"
    Domain.objects.create(tenant=tenant, domain=host, is_primary=True)
    owner = User.objects.create_user(email=f"owner{number}@bench.test", name=f"Owner {number}")
    Membership.objects.create(user=owner, tenant=tenant, role=Role.OWNER)
    with tenant_context(tenant):
        project = Project.objects.create(name="Board", created_by=owner)
        tasks = [
            Task.objects.create(pk=number * 1000 + k + 1, project=project, title=f"Task {k}", position=k)
            for k in range(TASKS)
        ]
    client = Client(HTTP_HOST=host)
    client.force_login(owner)
    session = client.session
    session[SESSION_TENANT_KEY] = tenant.pk
    session.save()
    return {
        "tenant": tenant,
        "host": host,
        "owner": owner,
        "project": project.pk,
        "tasks": [t.pk for t in tasks],
        "cookie": f"{settings.SESSION_COOKIE_NAME}={session.session_key}",
    }


def _uvicorn(port: int) -> subprocess.Popen:
    """uvicorn serving config.asgi on 127.0.0.1:`port` (one worker, as the production `stream` service), once it
    accepts connections."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1", "--port", str(port),
         "--no-access-log", "--log-level", "warning"],
        cwd=ROOT,
        env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 90
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return server
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                raise SystemExit("uvicorn did not start") from None
            time.sleep(0.2)


@dataclass
class Tally:
    """What the streams received: delays (ms) of first arrivals, frames naming another workspace's task, repeats."""

    streams: int
    owner_of_task: dict[int, int]
    delays: list[float] = field(default_factory=list)
    cross: int = 0
    frames: int = 0
    duplicates: int = 0
    opened_count: int = 0
    opened: asyncio.Event = field(default_factory=asyncio.Event)


async def _stream(tally: Tally, port: int, workspace: dict, index: int) -> None:
    """The owner's board stream, read until the server closes it (or the task is cancelled)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=2**20)
    writer.write(
        (
            f"GET /live/projects/{workspace['project']}/stream/ HTTP/1.1\r\nHost: {workspace['host']}\r\n"
            f"Cookie: {workspace['cookie']}\r\nAccept: text/event-stream\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    status = await reader.readline()
    if b" 200 " not in status:
        raise SystemExit(f"stream refused: {status!r}")
    tally.opened_count += 1
    if tally.opened_count == tally.streams:
        tally.opened.set()
    seen: set[str] = set()
    while line := await reader.readline():
        if not line.startswith(b"data: {"):
            continue
        payload = json.loads(line[6:])
        if payload.get("task") is None:
            continue
        if payload.get("id") in seen:
            tally.duplicates += 1
            continue
        seen.add(payload.get("id"))
        tally.frames += 1
        tally.delays.append((time.time() - float(payload["at"])) * 1000)
        if tally.owner_of_task.get(payload["task"]) != index:
            tally.cross += 1


async def _warm_up(port: int, workspace: dict) -> None:
    """One stream opened and closed, so the baseline has every module a stream needs loaded."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"GET /live/stream/ HTTP/1.1\r\nHost: {workspace['host']}\r\nCookie: {workspace['cookie']}\r\n\r\n".encode()
    )
    await writer.drain()
    await reader.readline()
    writer.close()
    await asyncio.sleep(1.0)


def _move_tasks(workspaces: list[dict], args: argparse.Namespace, services: object) -> tuple[int, int]:
    """`args.rate` moves a second for `args.seconds` through `services.task_move`, each its own transaction; returns
    (moves asked, task.moved events recorded: a move to where the task already was records nothing)."""
    from django.db import connections
    from django_tenants.utils import tenant_context

    from tenant_apps.audit.models import Event
    from tenant_apps.projects.models import Task

    rng = random.Random(7)  # noqa: S311  (which task to move, not a secret)
    start = time.monotonic()
    total = int(args.rate * args.seconds)
    for n in range(total):
        pause = start + n / args.rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        w = rng.choice(workspaces)
        with tenant_context(w["tenant"]):
            task = Task.objects.select_related("project").get(pk=rng.choice(w["tasks"]))
            status = rng.choice(["todo", "doing", "done"])
            services.task_move(task=task, status=status, position=rng.randint(0, 5), acting_user=w["owner"])  # type: ignore[attr-defined]
    recorded = 0
    for w in workspaces:
        with tenant_context(w["tenant"]):
            recorded += Event.objects.filter(type="task.moved").count()
    connections.close_all()
    return total, recorded


async def _measure(pid: int, port: int, workspaces: list[dict], args: argparse.Namespace, services: object) -> None:
    tally = Tally(
        streams=args.streams,
        owner_of_task={task: index for index, w in enumerate(workspaces) for task in w["tasks"]},
    )
    await _warm_up(port, workspaces[0])
    baseline = rss_mb(pid)
    log(f"opening {args.streams} streams (uvicorn rss {baseline:.1f} MB)…")
    # opened 20 at a time, as page loads arrive over time (each opening borrows a database connection briefly)
    tasks = []
    for i in range(args.streams):
        tasks.append(asyncio.create_task(_stream(tally, port, workspaces[i % len(workspaces)], i % len(workspaces))))
        if i % 20 == 19:
            await asyncio.sleep(0.2)
    await asyncio.wait_for(tally.opened.wait(), timeout=60)
    await asyncio.sleep(1.0)
    with_streams = rss_mb(pid)
    log(f"{args.streams} streams open; moving tasks {args.rate:.0f}/s for {args.seconds:.0f} s…")

    sent, events = await asyncio.to_thread(_move_tasks, workspaces, args, services)
    await asyncio.sleep(2.0)  # the last announcements arrive
    peak = rss_mb(pid)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    per_stream_kb = (with_streams - baseline) * 1024 / args.streams
    expected = events * args.streams // len(workspaces)
    log(
        f"moves asked {sent}, events recorded {events}; frames received {tally.frames} (expected {expected}), "
        f"{tally.duplicates} more of events already received; "
        f"uvicorn rss {baseline:.1f} MB before streams, {with_streams:.1f} MB with them "
        f"({per_stream_kb:.1f} KB a stream), {peak:.1f} MB at the end"
    )
    log(
        f"live: streams={args.streams} events={events} delivery_p50_ms={percentile(tally.delays, 50):.0f} "
        f"delivery_p95_ms={percentile(tally.delays, 95):.0f} cross_tenant={tally.cross}"
        f" server_rss_mb={with_streams:.0f}"
    )


if __name__ == "__main__":
    main()
