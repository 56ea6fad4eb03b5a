"""Load benchmark (`make bench-load`): Atrium as deployed, under a minute of mixed traffic over 50 workspaces, checked
for answers from the wrong workspace, server errors and writes that were acknowledged and then not found.

In a throwaway database (`atrium_bench_load`) on the server DATABASE_URL names (the embedded development server when it
is unset), dropped at the end:

- 50 workspaces made by the fast path (`load-00.localhost` … `load-49.localhost`), each with an owner and two admins
  (signed in through the login form), two projects of three tasks, and a read-and-write API key;
- gunicorn (2 workers x 4 threads, bench/settings_load.py: Atrium's settings plus a response header naming the
  schema that served it), a Celery worker, and Redis (REDIS_URL, or a redis-server started on loopback for the run)
  for the caches, the rate-limit counters and the broker; files on the filesystem backend in a temporary folder;
- locust, headless (bench/locustfile.py): people spread over the workspaces, each signing in, then page views,
  projects, tasks and comments written through the pages, API reads and writes with the key, image uploads (the
  worker makes their thumbnails) and fresh sign-ins, for `--seconds` or `--max-requests`, whichever comes first.

Then every acknowledged write (a redirect or a 201, with its `load-…` marker) is looked up in its workspace's schema,
and every schema is searched for markers that belong to another (counted as cross-tenant too). Last line:

  load: requests=… rps=… p95_ms=… errors_5xx=… cross_tenant=… lost_writes=…
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import log, recreate_database, server_url, with_database  # noqa: E402

BENCH_DB = "atrium_bench_load"
SETTINGS = "bench.settings_load"
PASSWORD = "load-bench-password-7c1f"  # noqa: S105 (a throwaway database's accounts)
# What each kind of acknowledged write is looked up by: (table, column).
WRITES = {
    "project": ("projects_project", "name"),
    "task": ("projects_task", "title"),
    "comment": ("projects_comment", "body"),
    "document": ("projects_document", "name"),
}


def setup(world_path: str, count: int) -> None:
    """Runs in a subprocess with Django configured: migrate, then the workspaces; writes the world as JSON."""
    import django

    django.setup()
    from allauth.account.models import EmailAddress
    from django.conf import settings
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import transaction
    from django_tenants.utils import tenant_context

    from shared_apps.accounts.models import Membership, Role, User
    from shared_apps.accounts.services import api_key_create
    from tenant_apps.projects import services as projects
    from tenants import provisioning, services
    from tenants.models import Domain, TenantStatus

    call_command("migrate_schemas", interactive=False, verbosity=0)
    services.public_tenant_ensure()
    provisioning.template_ensure()
    hashed = make_password(PASSWORD)  # once: every account gets the same hash (the sign-ins still verify it)
    workspaces = []
    for i in range(count):
        number = f"{i:02d}"
        with transaction.atomic():
            tenant, _via = provisioning.tenant_with_schema(
                name=f"Load Workspace {number}", status=TenantStatus.ACTIVE, method=provisioning.Method.FAST
            )
            host = f"load-{number}.{settings.BASE_DOMAIN}"
            Domain.objects.create(tenant=tenant, domain=host, is_primary=True)
            people = [
                User.objects.create(email=f"{who}@load-{number}.test", name=f"{who.title()} {number}", password=hashed)
                for who in ("owner", "admin1", "admin2")
            ]
            EmailAddress.objects.bulk_create(
                EmailAddress(user=u, email=u.email, primary=True, verified=True) for u in people
            )
            Membership.objects.bulk_create(
                Membership(user=u, tenant=tenant, role=Role.OWNER if k == 0 else Role.ADMIN)
                for k, u in enumerate(people)
            )
        owner = people[0]
        with tenant_context(tenant):
            project_ids, tasks = [], []
            for p in range(2):
                project = projects.project_create(name=f"Project {p + 1} of {number}", acting_user=owner)
                project_ids.append(project.pk)
                for t in range(3):
                    task = projects.task_create(project=project, title=f"Task {t + 1}", acting_user=owner)
                    tasks.append((project.pk, task.pk))
        _key, secret = api_key_create(tenant=tenant, name="load", scope="write", acting_user=owner)
        workspaces.append(
            {
                "number": number,
                "host": host,
                "schema": tenant.schema_name,
                "members": [u.email for u in people],
                "projects": project_ids,
                "tasks": tasks,
                "api_key": secret,
            }
        )
    Path(world_path).write_text(json.dumps({"password": PASSWORD, "workspaces": workspaces}))


def redis_for_run(env: dict[str, str]) -> subprocess.Popen[Any] | None:
    """REDIS_URL as it is, or a redis-server started on loopback for the run (its URL put in `env`); None if REDIS_URL
    was set. Raises FileNotFoundError without a redis-server."""
    if env.get("REDIS_URL"):
        return None
    if not shutil.which("redis-server"):
        raise FileNotFoundError(
            "redis-server not found and REDIS_URL unset: apt-get install redis-server, or set REDIS_URL"
        )
    redis_port = free_port()
    redis = subprocess.Popen(
        ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    wait_for_port(redis_port, redis, "redis-server")
    env["REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
    return redis


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[Any], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{what} did not start on port {port}")


def stop(process: subprocess.Popen[Any] | None, *, timeout: float = 30) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def warm_up(port: int, hosts: list[str], *, rounds: int = 3) -> float:
    """Every worker thread loads the URLconfs, templates and connections before the clock starts: a few rounds of
    concurrent requests for the sign-in page and the API's answer to a stranger. Returns the seconds it took."""
    import concurrent.futures
    import urllib.error
    import urllib.request

    def get(host: str, path: str) -> None:
        request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Host": host})
        with contextlib.suppress(urllib.error.HTTPError):  # the API's 401 is a warm answer too
            urllib.request.urlopen(request, timeout=120).read()  # noqa: S310 (loopback)

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(rounds):
            list(pool.map(lambda i: get(hosts[i % len(hosts)], ("/login/", "/api/v1/projects/")[i % 2]), range(16)))
    return time.monotonic() - started


def rows_by_schema(database_url: str, schemas: list[str]) -> dict[str, dict[str, set[str]]]:
    """Every `load-…` marker in each schema's tables, by kind of write."""
    import psycopg

    found: dict[str, dict[str, set[str]]] = {}
    with psycopg.connect(database_url, autocommit=True) as conn:
        for schema in schemas:
            found[schema] = {}
            for kind, (table, column) in WRITES.items():
                rows = conn.execute(
                    f'SELECT "{column}" FROM "{schema}"."{table}" WHERE "{column}" LIKE %s',  # noqa: S608
                    ["load-%"],
                ).fetchall()
                found[schema][kind] = {row[0] for row in rows}
    return found


def thumbnails_settle(database_url: str, schemas: list[str], timeout: float) -> tuple[int, int]:
    """Wait (up to `timeout` s) for the worker to finish the uploads' thumbnails; (ready, uploaded)."""
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        ready = total = 0
        with psycopg.connect(database_url, autocommit=True) as conn:
            for schema in schemas:
                row = conn.execute(
                    f"SELECT count(*) FILTER (WHERE thumbnail_status IN ('ready', 'failed')), count(*) "  # noqa: S608
                    f'FROM "{schema}".projects_document'
                ).fetchone()
                assert row is not None
                ready, total = ready + int(row[0]), total + int(row[1])
        if ready >= total or time.monotonic() > deadline:
            return ready, total
        time.sleep(1)


def compare(acknowledged: list[dict[str, str]], found: dict[str, dict[str, set[str]]]) -> tuple[int, int, list[str]]:
    """(lost writes, writes found in another workspace's schema, examples)."""
    lost, leaked, examples = 0, 0, []
    owner_of: dict[str, str] = {}
    for write in acknowledged:
        owner_of[write["marker"]] = write["schema"]
        if write["marker"] not in found.get(write["schema"], {}).get(write["kind"], set()):
            lost += 1
            examples.append(f"lost: {write['kind']} {write['marker']} in {write['schema']}")
    for schema, kinds in found.items():
        for kind, markers in kinds.items():
            for value in markers:
                home = owner_of.get(value)
                if home is not None and home != schema:
                    leaked += 1
                    examples.append(f"leaked: {kind} {value} of {home} found in {schema}")
    return lost, leaked, examples


def report(results: dict[str, Any], found: dict[str, dict[str, set[str]]], *, ready: int, uploaded: int) -> int:
    """What the run saw, and its verdict: 0 when no answer was a 5xx or missing, nothing crossed workspaces and no
    acknowledged write was lost."""
    acknowledged = results["acknowledged"]
    lost, leaked, examples = compare(acknowledged, found)
    statuses = {int(k): v for k, v in results["statuses"].items()}
    errors_5xx = sum(v for k, v in statuses.items() if k >= 500)
    no_answer = statuses.get(0, 0)
    cross_tenant = len(results["cross_tenant"]) + leaked
    by_kind: dict[str, int] = defaultdict(int)
    for write in acknowledged:
        by_kind[write["kind"]] += 1

    log("\nper request kind: requests, p95")
    for name, figures in sorted(results["by_name"].items()):
        log(f"  {name:20} {figures['requests']:7d}   p95 {figures['p95_ms']:.0f} ms")
    log(f"statuses: {dict(sorted(statuses.items()))}" + (f" (0: no answer, {no_answer})" if no_answer else ""))
    log("acknowledged writes, each found in its own schema and in no other: "
        + ", ".join(f"{kind} {n}" for kind, n in sorted(by_kind.items())))  # fmt: skip
    log(f"thumbnails made by the worker: {ready} of {uploaded} uploads")
    for line in (results["cross_tenant"] + examples + results["no_answer"])[:20]:
        log(f"  ! {line}")
    log(
        f"load: requests={results['requests']} rps={results['rps']:.0f} p95_ms={results['p95_ms']:.0f} "
        f"errors_5xx={errors_5xx + no_answer} cross_tenant={cross_tenant} lost_writes={lost}"
    )
    if not results["requests"] or not acknowledged:
        log("the run made no requests or no write was acknowledged: nothing was measured")
        return 1
    return 0 if (errors_5xx + no_answer + cross_tenant + lost) == 0 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=60, help="locust's --run-time")
    parser.add_argument("--max-requests", type=int, default=30_000, help="stop the run after this many requests")
    parser.add_argument("--users", type=int, default=40, help="simulated people (spread over the workspaces)")
    parser.add_argument("--spawn-rate", type=float, default=20, help="people started per second")
    parser.add_argument("--workspaces", type=int, default=50)
    parser.add_argument("--setup", nargs=2, metavar=("WORLD", "COUNT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.setup:
        setup(args.setup[0], int(args.setup[1]))
        return 0

    bin_dir = Path(sys.executable).parent
    url = server_url()
    database_url = with_database(url, BENCH_DB)
    work = Path(tempfile.mkdtemp(prefix="atrium-bench-load-"))
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": SETTINGS}
    env["PYTHONPATH"] = str(ROOT)
    env["MEDIA_ROOT"] = str(work / "media")
    env.setdefault("LOG_LEVEL", "WARNING")
    redis = gunicorn = worker = None
    processes_log = work / "processes.log"
    try:
        try:
            redis = redis_for_run(env)
        except FileNotFoundError as exc:
            log(str(exc))
            return 1
        log(f"load benchmark: database {BENCH_DB}, Redis {env['REDIS_URL']}, {args.workspaces} workspaces")
        recreate_database(url, BENCH_DB)
        started = time.monotonic()
        world_path = work / "world.json"
        subprocess.run(
            [sys.executable, __file__, "--setup", str(world_path), str(args.workspaces)], env=env, cwd=ROOT, check=True
        )
        world = json.loads(world_path.read_text())
        schemas = [w["schema"] for w in world["workspaces"]]
        log(f"seeded {len(schemas)} workspaces (3 people, 2 projects, 6 tasks, 1 API key each) in "
            f"{time.monotonic() - started:.1f}s")  # fmt: skip

        out = processes_log.open("w")
        port = free_port()
        gunicorn = subprocess.Popen(
            [str(bin_dir / "gunicorn"), "-w", "2", "-k", "gthread", "--threads", "4", "-b", f"127.0.0.1:{port}",
             "--log-level", "warning", "bench.wsgi:application"],
            env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        worker = subprocess.Popen(
            [str(bin_dir / "celery"), "-A", "config", "worker", "-P", "solo", "--without-mingle", "--without-gossip",
             "-l", "WARNING"],
            env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_for_port(port, gunicorn, "gunicorn")
        warm = warm_up(port, [w["host"] for w in world["workspaces"]])
        log(f"warmed up both workers in {warm:.1f}s")

        results_path = work / "results.json"
        locust_env = {**env, "LOAD_WORLD": str(world_path), "LOAD_RESULTS": str(results_path),
                      "LOAD_MAX_REQUESTS": str(args.max_requests)}  # fmt: skip
        log(f"locust: {args.users} people, {args.seconds}s or {args.max_requests} requests, gunicorn 2 workers x 4 "
            "threads, 1 Celery worker")  # fmt: skip
        subprocess.run(
            [str(bin_dir / "locust"), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
             "-u", str(args.users), "-r", str(args.spawn_rate), "--run-time", f"{args.seconds}s",
             "--host", f"http://127.0.0.1:{port}", "--only-summary", "--loglevel", "WARNING", "--stop-timeout", "20"],
            env=locust_env, cwd=ROOT, check=False, timeout=args.seconds + 150,
        )  # fmt: skip
        results = json.loads(results_path.read_text())
        ready, uploaded = thumbnails_settle(database_url, schemas, timeout=30)
        found = rows_by_schema(database_url, schemas)
    finally:
        stop(gunicorn)
        stop(worker)
        stop(redis)
        recreate_database(url, BENCH_DB, drop_only=True)

    shutil.rmtree(work, ignore_errors=True)
    return report(results, found, ready=ready, uploaded=uploaded)


if __name__ == "__main__":
    sys.exit(main())
