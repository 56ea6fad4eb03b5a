"""Outgoing webhooks benchmark (`make bench-webhooks`): 10,000 events over 100 endpoints on a loopback receiver, with
10 % of the endpoints failing.

In a throwaway database (`atrium_bench_webhooks`) on the server DATABASE_URL names (the embedded one by default),
dropped at the end:

  setup      100 workspaces (the production fast path), one endpoint each (`services.endpoint_create`), every tenth
             one answering 500. The receiver is another process (a threaded HTTP server on 127.0.0.1) that verifies
             every signature with `standardwebhooks` and logs when each request arrived.
  run        T writer threads (default 8) each commit events in their own workspaces, one event per transaction
             (`event_emit` inside `transaction.atomic`), 100 per workspace. Nothing is called by hand after that: as
             without a broker (`make run`), each commit hands the workspace's dispatch to a thread of this process
             unless one is already waiting; the dispatcher hands the events to the webhooks consumer, which hands
             sending to the workspace's sender, on threads too. `--broker` runs it as deployed instead: the dispatch
             and sender tasks go to Redis (a redis-server on loopback, or REDIS_URL), the dispatcher runs in a Celery
             worker on the default queue (`--workers` processes, prefork, default 3) and the senders in a worker on
             the `webhooks` queue (`--webhook-threads` threads, default 16); the clock starts once both answer a
             ping. Latency is from each event's commit to its first attempt reaching the receiver; throughput is
             first attempts per second from the first commit to the last first attempt.
  retries    the failing endpoints recover; the retries that are due are sent in batches (`sending.deliveries_send`,
             what the beat's sweep and the in-process sweeper run, with the clock moved past their back-off). An event
             is lost when, after that, the receiver has accepted (answered 200, signature verified) no attempt of it.

Last line: `webhooks: events=10000 delivered=… lost=… deliver_p50_ms=… deliver_p95_ms=… throughput_per_s=…`
(targets: lost=0, p95 from commit to first attempt ≤ 1 s, ≥ 200 deliveries/s).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import log, recreate_database, server_url, with_database  # noqa: E402
from bench.load import redis_for_run, stop  # noqa: E402

BENCH_DB = "atrium_bench_webhooks"


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


# --- the receiver (run as `bench/webhooks.py --receiver DIR`) -------------------------------------------------------


def receiver(folder: Path) -> None:
    """Serve on 127.0.0.1 (port written to DIR/port); paths /ok/<n> answer 200, /fail/<n> answer 500 while DIR/failing
    exists. Each request's arrival (POSIX time), webhook-id, path, answer and signature check go to DIR/log."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from standardwebhooks.webhooks import Webhook, WebhookVerificationError

    secrets: dict[str, Webhook] = {}
    lines: list[str] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            arrived = time.time()
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            if not secrets:
                for path, secret in json.loads((folder / "secrets.json").read_text()).items():
                    secrets[path] = Webhook(secret)
            try:
                secrets[self.path].verify(body, dict(self.headers.items()), json_parse=False)
                verified = 1
            except (WebhookVerificationError, KeyError):
                verified = 0
            status = 500 if self.path.startswith("/fail/") and (folder / "failing").exists() else 200
            with lock:
                lines.append(f"{arrived:.6f} {self.headers.get('webhook-id')} {self.path} {status} {verified}\n")
            self.send_response(status)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def do_GET(self) -> None:  # flush the log: the bench reads it
            with lock:
                (folder / "log").write_text("".join(lines))
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.request_queue_size = 256
    (folder / "port").write_text(str(server.server_port))
    server.serve_forever()


# --- the run --------------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--endpoints", type=int, default=100)
    parser.add_argument("--failing", type=float, default=0.10, help="share of endpoints answering 500")
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--broker", action="store_true", help="Redis and Celery worker processes, as deployed")
    parser.add_argument("--workers", type=int, default=3, help="Celery worker processes, default queue (--broker)")
    parser.add_argument(
        "--webhook-threads", type=int, default=16, help="threads of the webhooks queue's Celery worker (--broker)"
    )
    parser.add_argument("--receiver", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.receiver:
        receiver(args.receiver)
        return

    base_url = server_url()
    recreate_database(base_url, BENCH_DB)
    folder = Path(tempfile.mkdtemp(prefix="atrium-bench-webhooks-"))
    (folder / "failing").touch()
    server = subprocess.Popen([sys.executable, __file__, "--receiver", str(folder)], cwd=ROOT)
    redis = None
    env = {**os.environ, "DATABASE_URL": with_database(base_url, BENCH_DB), "PYTHONPATH": str(ROOT)}
    env |= {"DJANGO_SETTINGS_MODULE": "config.settings.local", "DEBUG": "0", "TENANT_POOL_SIZE": "0"}
    env.setdefault("CONN_MAX_AGE", "300")  # workers keep their connections, as a deployment does
    env.setdefault("LOG_LEVEL", "ERROR")
    if args.broker:
        redis = redis_for_run(env)
    os.environ.update(env)
    try:
        for _ in range(100):
            if (folder / "port").exists():
                break
            time.sleep(0.05)
        _run(base_url, folder, int((folder / "port").read_text()), args, env)
    finally:
        server.terminate()
        server.wait(timeout=10)
        stop(redis)
        from django.db import connections

        connections.close_all()
        recreate_database(base_url, BENCH_DB, drop_only=True)


def _run(base_url: str, folder: Path, port: int, args: argparse.Namespace, env: dict[str, str]) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections
    from django_tenants.utils import tenant_context

    from shared_apps.accounts.models import Membership, Role, User
    from tenant_apps.webhooks import services
    from tenants import provisioning
    from tenants import services as tenancy
    from tenants.models import TenantStatus

    log("migrating the bench database…")
    call_command("migrate_schemas", interactive=False, verbosity=0)
    tenancy.public_tenant_ensure()
    provisioning.template_ensure()

    log(f"{args.endpoints} workspaces with one endpoint each ({args.failing:.0%} failing)…")
    owner = User.objects.create_user(email="owner@bench.test")
    failing_every = round(1 / args.failing) if args.failing else 0
    workspaces = []
    secrets = {}
    for number in range(args.endpoints):
        tenant, _via = provisioning.tenant_with_schema(
            name=f"Bench {number}", status=TenantStatus.ACTIVE, method=provisioning.Method.FAST
        )
        path = f"/fail/{number}" if failing_every and number % failing_every == 0 else f"/ok/{number}"
        Membership.objects.create(user=owner, tenant=tenant, role=Role.OWNER)
        with tenant_context(tenant):
            _endpoint, secret = services.endpoint_create(
                tenant=tenant, acting_user=owner, url=f"http://127.0.0.1:{port}{path}"
            )
        secrets[path] = secret
        workspaces.append(tenant)
    (folder / "secrets.json").write_text(json.dumps(secrets))
    connections.close_all()

    workers = []
    if args.broker:  # as deployed: the default queue's workers, and the webhooks queue's own
        for queue, pool, count in (("celery", "prefork", args.workers), ("webhooks", "threads", args.webhook_threads)):
            workers.append(subprocess.Popen(
                [str(Path(sys.executable).parent / "celery"), "-A", "config", "worker", "-Q", queue, "-n",
                 f"{queue}@%h", "-P", pool, "-c", str(count), "--without-mingle", "--without-gossip", "-l",
                 env.get("BENCH_WORKER_LOG", "WARNING")],
                env=env, cwd=ROOT,
            ))  # fmt: skip
        _workers_wait(len(workers))
    try:
        _load(folder, port, args, workspaces)
    finally:
        for worker in workers:
            stop(worker)


def _workers_wait(expected: int, *, timeout: float = 120) -> None:
    """Until every worker answers a ping (loading the app takes seconds on a busy machine: the clock starts after)."""
    from config.celery import app

    deadline = time.time() + timeout
    while time.time() < deadline:
        if len(app.control.ping(timeout=1.0)) >= expected:
            return
    raise RuntimeError(f"the {expected} Celery workers did not answer within {timeout:.0f} s")


def _emit(args: argparse.Namespace, workspaces: list) -> tuple[dict[str, float], float]:
    """`args.events` events (task.created), each committed in its own transaction by `args.writers` threads; returns
    each event's commit time by id, and how long the writing took."""
    from django.db import connection, transaction
    from django_tenants.utils import tenant_context

    from tenant_apps.audit.events import EventType, event_emit

    per_workspace = args.events // len(workspaces)
    committed: dict[str, float] = {}
    lock = threading.Lock()

    def _committed(stamp: dict[str, str]) -> None:
        with lock:
            committed[stamp["id"]] = time.time()

    def writer(mine: list) -> None:
        try:
            for tenant in mine:
                with tenant_context(tenant):
                    for number in range(per_workspace):
                        stamp: dict[str, str] = {}
                        with transaction.atomic():
                            transaction.on_commit(functools.partial(_committed, stamp))
                            stamp["id"] = event_emit(
                                tenant=tenant,
                                type=EventType.TASK_CREATED,
                                actor=None,
                                data={"id": number, "title": f"Task {number}"},
                            )
        finally:
            connection.close()

    how = "in-process threads"
    if args.broker:
        how = f"Celery workers ({args.workers} processes; the webhooks queue's, {args.webhook_threads} threads)"
    log(f"{per_workspace * len(workspaces):,} events from {args.writers} writers, dispatched and sent by {how}…")
    started = time.time()
    if args.writers == 1:  # in this thread (for a profiler)
        writer(workspaces)
        return committed, time.time() - started
    threads = [
        threading.Thread(target=writer, args=(workspaces[i :: args.writers],), daemon=True) for i in range(args.writers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return committed, time.time() - started


def _retry_due(folder: Path, workspaces: list) -> int:
    """The failing endpoints recover and every due retry is sent; returns how many deliveries are marked delivered
    (a cross-check of what the receiver says)."""
    from datetime import timedelta

    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from tenant_apps.webhooks import sending
    from tenant_apps.webhooks.models import Delivery, DeliveryStatus

    log("failing endpoints recover; due retries are sent…")
    (folder / "failing").unlink()
    for tenant in workspaces:
        with tenant_context(tenant):
            later = timezone.now() + timedelta(minutes=1)
            while sending.deliveries_send(delivery_ids=None, now=later):
                pass
    delivered = 0
    for tenant in workspaces:
        with tenant_context(tenant):
            delivered += Delivery.objects.filter(status=DeliveryStatus.SUCCEEDED).count()
    return delivered


def _load(folder: Path, port: int, args: argparse.Namespace, workspaces: list) -> None:
    started = time.time()
    committed, elapsed = _emit(args, workspaces)
    deadline = time.time() + 120
    while len(_first_attempts(port, folder)) < len(committed) and time.time() < deadline:
        time.sleep(0.5)  # the workers finish what was committed

    first = _first_attempts(port, folder)
    latencies = [(first[e][0] - t) * 1000 for e, t in committed.items() if e in first]
    throughput = len(first) / max(max((a for a, _s in first.values()), default=started) - started, 1e-9)
    bad = _bad_signatures(folder)
    log(
        f"run: {len(committed):,} events committed in {elapsed:.1f} s, {len(first):,} first attempts; "
        f"commit → first attempt p50 {percentile(latencies, 50):.1f} ms, p95 {percentile(latencies, 95):.1f} ms; "
        f"{throughput:.0f} first attempts/s; bad signatures {bad}"
    )

    recorded = _retry_due(folder, workspaces)
    accepted = {
        event_id for _a, event_id, _p, status, verified in _read_log(port, folder) if (status, verified) == ("200", "1")
    }
    delivered = len(accepted & committed.keys())
    lost = len(committed) - delivered
    log(
        f"retries: {delivered:,} of {len(committed):,} accepted by the receiver in the end ({recorded:,} marked "
        f"delivered), {_bad_signatures(folder)} bad signatures"
    )
    log(
        f"webhooks: events={len(committed)} delivered={delivered} lost={lost} "
        f"deliver_p50_ms={percentile(latencies, 50):.1f} deliver_p95_ms={percentile(latencies, 95):.1f} "
        f"throughput_per_s={throughput:.0f}"
    )


def _read_log(port: int, folder: Path) -> list[list[str]]:
    import urllib.request

    urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10).read()
    return [line.split() for line in (folder / "log").read_text().splitlines()]


def _first_attempts(port: int, folder: Path) -> dict[str, tuple[float, str]]:
    first: dict[str, tuple[float, str]] = {}
    for arrived, event_id, _path, status, _verified in _read_log(port, folder):
        if event_id not in first:
            first[event_id] = (float(arrived), status)
    return first


def _bad_signatures(folder: Path) -> int:
    return sum(1 for line in (folder / "log").read_text().splitlines() if line.endswith(" 0"))


if __name__ == "__main__":
    main()
