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
import threading
import time
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
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections
    from django.test import Client
    from django_tenants.utils import tenant_context

    from shared_apps.accounts.models import Membership, Role, User
    from shared_apps.accounts.sessions import SESSION_TENANT_KEY
    from tenant_apps.projects import services
    from tenant_apps.projects.models import Project, Task
    from tenants import provisioning
    from tenants import services as tenancy
    from tenants.models import Domain, TenantStatus

    log("migrating the bench database…")
    call_command("migrate_schemas", interactive=False, verbosity=0)
    tenancy.public_tenant_ensure()
    provisioning.template_ensure()

    log(f"{args.workspaces} workspaces, a project and {TASKS} tasks each…")
    workspaces = []
    for number in range(args.workspaces):
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
        workspaces.append(
            {
                "tenant": tenant,
                "host": host,
                "owner": owner,
                "project": project.pk,
                "tasks": [t.pk for t in tasks],
                "cookie": f"{settings.SESSION_COOKIE_NAME}={session.session_key}",
            }
        )
    connections.close_all()

    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "config.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("uvicorn did not start") from None
                time.sleep(0.2)
        asyncio.run(_measure(server.pid, port, workspaces, args, services))
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


async def _measure(pid: int, port: int, workspaces: list[dict], args: argparse.Namespace, services: object) -> None:
    owner_of_task = {task: index for index, w in enumerate(workspaces) for task in w["tasks"]}
    delays: list[float] = []
    cross = 0
    frames = 0
    duplicates = 0
    opened = asyncio.Event()
    opened_count = 0

    async def stream(index: int) -> None:
        nonlocal cross, frames, opened_count, duplicates
        w = workspaces[index]
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=2**20)
        writer.write(
            (
                f"GET /live/projects/{w['project']}/stream/ HTTP/1.1\r\nHost: {w['host']}\r\n"
                f"Cookie: {w['cookie']}\r\nAccept: text/event-stream\r\n\r\n"
            ).encode()
        )
        await writer.drain()
        status = await reader.readline()
        if b" 200 " not in status:
            raise SystemExit(f"stream refused: {status!r}")
        opened_count += 1
        if opened_count == args.streams:
            opened.set()
        seen: set[str] = set()
        while True:
            line = await reader.readline()
            if not line:
                return
            if line.startswith(b"data: {"):
                payload = json.loads(line[6:])
                if payload.get("task") is None:
                    continue
                if payload.get("id") in seen:
                    duplicates += 1
                    continue
                seen.add(payload.get("id"))
                frames += 1
                delays.append((time.time() - float(payload["at"])) * 1000)
                if owner_of_task.get(payload["task"]) != index:
                    cross += 1

    # warm up: one stream opened and closed, so the baseline has every module a stream needs loaded
    warm = workspaces[0]
    warm_reader, warm_writer = await asyncio.open_connection("127.0.0.1", port)
    warm_writer.write(
        f"GET /live/stream/ HTTP/1.1\r\nHost: {warm['host']}\r\nCookie: {warm['cookie']}\r\n\r\n".encode()
    )
    await warm_writer.drain()
    await warm_reader.readline()
    warm_writer.close()
    await asyncio.sleep(1.0)
    baseline = rss_mb(pid)
    log(f"opening {args.streams} streams (uvicorn rss {baseline:.1f} MB)…")
    # opened 20 at a time, as page loads arrive over time (each opening borrows a database connection briefly)
    tasks = []
    for i in range(args.streams):
        tasks.append(asyncio.create_task(stream(i % len(workspaces))))
        if i % 20 == 19:
            await asyncio.sleep(0.2)
    await asyncio.wait_for(opened.wait(), timeout=60)
    await asyncio.sleep(1.0)
    with_streams = rss_mb(pid)
    log(f"{args.streams} streams open; moving tasks {args.rate:.0f}/s for {args.seconds:.0f} s…")

    sent = 0
    recorded: list[int] = []
    done = threading.Event()

    def writer() -> None:
        nonlocal sent
        from django.db import connections
        from django_tenants.utils import tenant_context

        from tenant_apps.projects.models import Task

        rng = random.Random(7)  # noqa: S311  (which task to move, not a secret)
        start = time.monotonic()
        total = int(args.rate * args.seconds)
        for n in range(total):
            due = start + n / args.rate
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            w = rng.choice(workspaces)
            with tenant_context(w["tenant"]):
                task = Task.objects.select_related("project").get(pk=rng.choice(w["tasks"]))
                status = rng.choice(["todo", "doing", "done"])
                services.task_move(task=task, status=status, position=rng.randint(0, 5), acting_user=w["owner"])  # type: ignore[attr-defined]
            sent += 1
        from tenant_apps.audit.models import Event

        for w in workspaces:  # a move to where the task already was records nothing: count what was recorded
            with tenant_context(w["tenant"]):
                recorded.append(Event.objects.filter(type="task.moved").count())
        connections.close_all()
        done.set()

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    while not done.is_set():
        await asyncio.sleep(0.2)
    await asyncio.sleep(2.0)  # the last announcements arrive
    peak = rss_mb(pid)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    per_stream_kb = (with_streams - baseline) * 1024 / args.streams
    events = sum(recorded)
    expected = events * args.streams // len(workspaces)
    log(
        f"moves asked {sent}, events recorded {events}; frames received {frames} (expected {expected}), "
        f"{duplicates} more of events already received; "
        f"uvicorn rss {baseline:.1f} MB before streams, {with_streams:.1f} MB with them "
        f"({per_stream_kb:.1f} KB a stream), {peak:.1f} MB at the end"
    )
    log(
        f"live: streams={args.streams} events={events} delivery_p50_ms={percentile(delays, 50):.0f} "
        f"delivery_p95_ms={percentile(delays, 95):.0f} cross_tenant={cross} server_rss_mb={with_streams:.0f}"
    )


if __name__ == "__main__":
    main()
