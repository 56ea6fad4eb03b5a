"""Live updates benchmark (`make bench-live`): 200 open streams over 20 workspaces, 50 changes a second for 30 s.

In a throwaway database (`atrium_bench_live`) on the server DATABASE_URL names (the embedded one by default),
dropped at the end:

  setup   20 workspaces (the production fast path), each with an owner, a project and 20 tasks whose ids are
          unique over the whole run (so a task id names its workspace); uvicorn serves `config.asgi` (one worker)
          on 127.0.0.1, as the production `stream` service does (through bench/live_server.py, which only adds the
          readings below).
  streams 10 per workspace, each the owner's `/live/projects/<id>/stream/` opened with a real session cookie over
          HTTP/1.1 (asyncio sockets in this process), 20 at a time; a stream counts as open once its opening
          comment has arrived (the server has subscribed it).
  run     one writer moves a random task of a random workspace through `services.task_move` 50 times a second
          (each its own transaction): the commit runs the dispatcher in-process (no broker), whose `live` consumer
          announces it on the live bus (`pg_notify` without REDIS_URL, Redis pub/sub with it) to uvicorn's
          listener, which hands it to the streams. Delivery is from the event's time (`occurred_at`, carried as
          `at`) to its arrival at a stream. cross_tenant counts frames naming a task of another workspace.

Memory: uvicorn's resident size with every stream open (server_rss_mb) and its growth a stream (per_stream_kb):
the growth from the baseline to the reading with the streams open, divided by the streams. Each reading is taken by
the server on a signal, after a garbage collection there (bench/live_server.py). The baseline follows a warm-up
that opens one board stream, waits for it to be subscribed, closes it and waits until the server has let it go, so
the modules, the bus's listener and the code paths of a stream are loaded (one stream: warming up with many would
leave freed memory that the measured streams reuse). The reading with the streams waits until every stream has its
opening comment and the server counts one subscription for each. (Until this version the baseline followed a
`/live/stream/` opened without waiting for the stream itself, and the second reading was taken once the status lines
had arrived, with no collection on either side.) The summary also splits the growth by kind of mapping (threads'
stacks, the [heap], other anonymous memory) and counts the server's threads.

Options: `--compare` first opens the streams on uvicorn serving Django's own ASGI handler (its requests each keep a
thread until their response ends) and prints both figures a stream side by side; `--trace N` traces the server's
allocations and prints the N sites that grew most with the streams open (its memory figures then include
tracemalloc's own, and delivery is many times slower).

Last line: `live: streams=200 events=… delivery_p50_ms=… delivery_p95_ms=… cross_tenant=… server_rss_mb=…
per_stream_kb=…` (targets: p95 ≤ 500 ms, cross_tenant=0, per_stream_kb ≤ 100).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import log, recreate_database, server_url, with_database  # noqa: E402

BENCH_DB = "atrium_bench_live"
TASKS = 20
KINDS = ("stacks_kb", "heap_kb", "anon_kb")  # resident memory by kind of mapping (bench/live_server.py)


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
    parser.add_argument(
        "--trace", type=int, default=0, metavar="N",
        help="trace uvicorn's allocations (bench/live_traced.py) and print the N sites that grew most with the streams "
        "open (its memory figures then include tracemalloc's own)",
    )  # fmt: skip
    parser.add_argument(
        "--compare", action="store_true",
        help="first open the streams on Django's own ASGI handler too, and print both memory figures",
    )  # fmt: skip
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

    log(f"live bus: {'Redis pub/sub (REDIS_URL)' if os.environ.get('REDIS_URL') else 'PostgreSQL NOTIFY'}")
    log("migrating the bench database…")
    call_command("migrate_schemas", interactive=False, verbosity=0)
    tenancy.public_tenant_ensure()
    provisioning.template_ensure()
    log(f"{args.workspaces} workspaces, a project and {TASKS} tasks each…")
    workspaces = [_workspace(number) for number in range(args.workspaces)]
    connections.close_all()

    stock_kb = None
    if args.compare:
        with _served(args, django_handler=True) as server:
            stock_kb = asyncio.run(_compare(server, workspaces, args))
    with _served(args) as server:
        asyncio.run(_measure(server, workspaces, args, services, stock_kb))


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


@dataclass
class Server:
    """uvicorn, and the readings bench/live_server.py writes to `folder` on SIGUSR1."""

    process: subprocess.Popen
    port: int
    folder: Path
    readings: int = 0

    async def reading(self) -> dict:
        """The server's open subscriptions and threads and its resident memory, after a garbage collection there."""
        self.readings += 1
        path = self.folder / f"{self.readings}.json"
        self.process.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + 300
        while not path.exists():
            if time.monotonic() > deadline:
                raise SystemExit("uvicorn gave no reading")
            await asyncio.sleep(0.1)
        return {**json.loads(path.read_text()), "rss_mb": rss_mb(self.process.pid)}


@contextlib.contextmanager
def _served(args: argparse.Namespace, *, django_handler: bool = False) -> Iterator[Server]:
    """uvicorn serving config.asgi (through bench/live_server.py) on 127.0.0.1, one worker as the production `stream`
    service, once it accepts connections; with `--trace`, its allocations traced; with `django_handler`, Django's own
    ASGI handler instead of Atrium's (`--compare`)."""
    port = free_port()
    folder = Path(tempfile.mkdtemp(prefix="atrium-live-bench-"))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LIVE_BENCH_DIR": str(folder)}
    if args.trace:
        env["LIVE_TRACE_FRAMES"] = "12"
    if django_handler:
        env["LIVE_BENCH_HANDLER"] = "django"
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bench.live_server:application", "--host", "127.0.0.1", "--port", str(port),
         "--no-access-log", "--log-level", "warning"],
        cwd=ROOT,
        env=env,
    )  # fmt: skip
    try:
        _wait_for_port(process, port, 600 if args.trace else 90)  # tracing makes start-up many times slower
        yield Server(process=process, port=port, folder=folder)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        if args.trace:
            log(f"the server's snapshots are in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def _wait_for_port(process: subprocess.Popen, port: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
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


async def _open(port: int, workspace: dict) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """The owner's board stream, once the server has subscribed it (its opening comment has arrived)."""
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
    while (line := await reader.readline()) and not line.startswith(b": open"):
        pass
    if not line:
        raise SystemExit("a stream ended before it opened")
    return reader, writer


async def _stream(tally: Tally, port: int, workspace: dict, index: int) -> None:
    """The owner's board stream, read until the server closes it (or the task is cancelled)."""
    reader, _writer = await _open(port, workspace)
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


async def _warm_up(server: Server, workspace: dict) -> dict:
    """One board stream opened (the same path as the measured ones) and closed, so the baseline has every module, the
    listener and the caches a stream needs; returns the server's reading once it has let the stream go."""
    _reader, writer = await _open(server.port, workspace)
    writer.close()
    for _attempt in range(50):
        await asyncio.sleep(0.2)
        reading = await server.reading()
        if reading["subscriptions"] == 0:
            return reading
    raise SystemExit("the warm-up stream was never let go")


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


async def _open_all(server: Server, workspaces: list[dict], args: argparse.Namespace, tally: Tally) -> tuple:
    """The server's reading after the warm-up, `args.streams` streams opened, the reading with them all open (every
    one subscribed), and the streams' tasks."""
    before = await _warm_up(server, workspaces[0])
    log(f"opening {args.streams} streams (uvicorn rss {before['rss_mb']:.1f} MB, {before['threads']} threads)…")
    # opened 20 at a time, as page loads arrive over time (each opening borrows a database connection briefly)
    tasks = []
    for i in range(args.streams):
        w = i % len(workspaces)
        tasks.append(asyncio.create_task(_stream(tally, server.port, workspaces[w], w)))
        if i % 20 == 19:
            await asyncio.sleep(0.2)
            while args.trace and tally.opened_count <= i:  # traced, the server opens them many times slower
                await asyncio.sleep(0.2)
    await asyncio.wait_for(tally.opened.wait(), timeout=600 if args.trace else 60)
    await asyncio.sleep(1.0)
    during = await server.reading()
    if during["subscriptions"] != args.streams:
        raise SystemExit(f"{during['subscriptions']} subscriptions in the server for {args.streams} open streams")
    return before, during, tasks


def _memory_line(label: str, before: dict, during: dict, streams: int) -> float:
    """Logs the server's memory before and with the streams; returns the growth a stream, KB."""
    per_stream_kb = (during["rss_mb"] - before["rss_mb"]) * 1024 / streams
    log(
        f"{label}: uvicorn rss {before['rss_mb']:.1f} MB before streams, {during['rss_mb']:.1f} MB with them "
        f"({per_stream_kb:.1f} KB a stream); threads {before['threads']} before, {during['threads']} with them; "
        "a stream's growth by kind: "
        + ", ".join(f"{kind} {(during[kind] - before[kind]) / streams:.1f}" for kind in KINDS)
    )
    return per_stream_kb


async def _compare(server: Server, workspaces: list[dict], args: argparse.Namespace) -> float:
    """The streams opened on Django's own ASGI handler, for the memory only; returns KB a stream."""
    log("for comparison, Django's own ASGI handler:")
    tally = Tally(streams=args.streams, owner_of_task={})
    before, during, tasks = await _open_all(server, workspaces, args, tally)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return _memory_line("Django's handler", before, during, args.streams)


async def _measure(
    server: Server, workspaces: list[dict], args: argparse.Namespace, services: object, stock_kb: float | None
) -> None:
    tally = Tally(
        streams=args.streams,
        owner_of_task={task: index for index, w in enumerate(workspaces) for task in w["tasks"]},
    )
    before, during, tasks = await _open_all(server, workspaces, args, tally)
    if args.trace:
        _print_growth(before["snapshot"], during["snapshot"], args.trace)
    log(f"{args.streams} streams open; moving tasks {args.rate:.0f}/s for {args.seconds:.0f} s…")

    sent, events = await asyncio.to_thread(_move_tasks, workspaces, args, services)
    await asyncio.sleep(2.0)  # the last announcements arrive
    peak = rss_mb(server.process.pid)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    expected = events * args.streams // len(workspaces)
    log(
        f"moves asked {sent}, events recorded {events}; frames received {tally.frames} (expected {expected}), "
        f"{tally.duplicates} more of events already received; uvicorn rss {peak:.1f} MB at the end"
    )
    per_stream_kb = _memory_line("Atrium's handler", before, during, args.streams)
    if stock_kb is not None:
        log(
            f"memory a stream: Atrium's handler {per_stream_kb:.1f} KB, Django's {stock_kb:.1f} KB "
            f"(ratio {per_stream_kb / stock_kb:.2f})"
        )
    log(
        f"live: streams={args.streams} events={events} delivery_p50_ms={percentile(tally.delays, 50):.0f} "
        f"delivery_p95_ms={percentile(tally.delays, 95):.0f} cross_tenant={tally.cross}"
        f" server_rss_mb={during['rss_mb']:.0f} per_stream_kb={per_stream_kb:.0f}"
    )


def _print_growth(before: str, after: str, top: int) -> None:
    """The `top` allocation sites (by traceback) that grew most between two of the server's snapshots."""
    ignore = [tracemalloc.Filter(False, tracemalloc.__file__)]
    old = tracemalloc.Snapshot.load(before).filter_traces(ignore)
    new = tracemalloc.Snapshot.load(after).filter_traces(ignore)
    growth = new.compare_to(old, "traceback")
    total = sum(stat.size_diff for stat in growth)
    log(f"traced growth with the streams open: {total / 1024:.0f} KB; the largest {top} sites:")
    for stat in growth[:top]:
        log(f"  {stat.size_diff / 1024:+.1f} KB in {stat.count_diff:+d} blocks")
        for line in stat.traceback.format(limit=8):
            log(f"    {line}")


if __name__ == "__main__":
    main()
