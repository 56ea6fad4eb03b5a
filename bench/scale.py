"""Atrium at 10,000 workspaces (`make bench-scale`): is a page as fast as at 10, and what does scale cost in memory?

In its own throwaway database (`atrium_scale_bench`) on the server DATABASE_URL names (the embedded development server
when it is unset), dropped at the end:

1. `migrate_schemas` (public + the template), then N workspaces (default 10,000) by the fast path (the template's
   snapshot replayed, several workspaces per transaction, over `TENANT_MULTIPROCESSING_MAX_PROCESSES` threads), each
   with a domain, an owner and one project whose name says which workspace it belongs to.
2. The routing cache of this process (the per-process LRU and the validated-host map), measured by walking its
   objects after every workspace's host was resolved (one change announced first, as the first sign-up through the
   pages would, so that the process follows the route feed).
3. The workspace home page (`/`: routing, session, membership, the project list) requested as its owner through
   Django's whole stack (the test client, the real middleware, one persistent database connection) for a random
   workspace among 10, among 1,000 and among all N, in this process that has routed every workspace (as a server
   process that has been up a while); the levels take turns request by request, and every answer must be the asked
   workspace's own page. p50/p95 per level; the ratio of p95 at N to p95 at 10. At 10, PostgreSQL's per-connection
   catalog caches hold the few workspaces' tables; at N, nearly every request is the connection's first to its
   workspace's schema: that first read of a schema's tables is what remains of the difference.
4. The memory of the PostgreSQL backend serving the app (its memory contexts, `pg_backend_memory_contexts`, and its
   anonymous RSS from /proc when the server is local) while it touches one new workspace after another: on one
   connection that is never recycled, then with `CONN_MAX_AGE` recycling the connection.
5. A no-op `migrate_schemas` over all N, timed end to end.

The last line is

  scale: tenants=10000 p95_ratio_10k_vs_10=…x route_cache_mb=… backend_rss_mb=… noop_migrate_s=…

(targets: p95 ratio ≤ 1.2, no-op migrate ≤ 60 s). `--tenants 1000` makes a quicker run.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import log, recreate_database, server_url, with_database  # noqa: E402

BENCH_DB = "atrium_scale_bench"
PER_TRANSACTION = 5  # workspaces per provisioning transaction (each holds locks on its new relations until commit)
SEED_BATCH = 200
PROJECT_SQL = (
    "INSERT INTO {q}.projects_project (name, description, visibility, created_by_id, created_at, updated_at)"
    " VALUES ('Scale project ' || {slug}, '', 'workspace', {owner}, now(), now());"
)


def slug_of(i: int) -> str:
    return f"scale{i:05d}"


def provision(count: int, workers: int, budget_s: float = 0.0) -> list[tuple[int, str, str]]:
    """`count` workspaces by the fast path, PER_TRANSACTION to a transaction, over `workers` threads (each its own
    connection); with a budget, no new transaction starts after `budget_s` seconds. Returns (tenant id, schema, host)
    in creation order."""
    from django.conf import settings
    from django.db import connections, transaction

    from tenants import provisioning
    from tenants.models import Domain, TenantStatus

    lock = threading.Lock()
    made: list[tuple[int, int, str, str]] = []
    batches = iter(range(0, count, PER_TRANSACTION))
    started = time.perf_counter()
    step = max(count // 20, 100)
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            while True:
                with lock:
                    first = next(batches, None)
                if first is None or (budget_s and time.perf_counter() - started > budget_s):
                    return
                indexes = range(first, min(first + PER_TRANSACTION, count))
                rows = []
                with transaction.atomic():
                    for i in indexes:
                        tenant, _via = provisioning.tenant_with_schema(
                            name=f"Scale {i}", status=TenantStatus.ACTIVE, method=provisioning.Method.FAST
                        )
                        rows.append((i, tenant.pk, tenant.schema_name, f"{slug_of(i)}.{settings.BASE_DOMAIN}"))
                    Domain.objects.bulk_create(
                        [Domain(tenant_id=t, domain=h, is_primary=True) for _i, t, _s, h in rows]
                    )
                with lock:
                    before = len(made)
                    made.extend(rows)
                    done = len(made)
                if done // step != before // step or done == count:
                    elapsed = time.perf_counter() - started
                    log(f"  provisioned {done}/{count} ({done / elapsed:.0f}/s, {elapsed:.0f}s)")
        except BaseException as exc:
            failures.append(exc)
            raise
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"provisioning failed: {failures[0]!r}")
    made.sort()
    return [(t, s, h) for _i, t, s, h in made]


def seed(workspaces: list[tuple[int, str, str]]) -> dict[int, int]:
    """An owner (global user, active membership) and one project in every workspace, in bulk. Returns tenant → user."""
    from django.db import connection

    from shared_apps.accounts.models import Membership, Role, User

    owners = User.objects.bulk_create(
        [User(email=f"owner@{host}", name=f"Owner {host}", password="!") for _t, _s, host in workspaces],  # noqa: S106
        batch_size=2000,
    )
    Membership.objects.bulk_create(
        [Membership(user=u, tenant_id=t, role=Role.OWNER) for u, (t, _s, _h) in zip(owners, workspaces, strict=True)],
        batch_size=2000,
    )
    for offset in range(0, len(workspaces), SEED_BATCH):
        chunk = list(zip(workspaces[offset : offset + SEED_BATCH], owners[offset : offset + SEED_BATCH], strict=True))
        script = [PROJECT_SQL.format(q=f'"{schema}"', slug="%s", owner=owner.pk) for (_t, schema, _h), owner in chunk]
        with connection.cursor() as cursor:  # schema names from the catalog, values bound
            cursor.execute("\n".join(script), [host.split(".")[0] for (_t, _s, host), _o in chunk])
    return {t: u.pk for u, (t, _s, _h) in zip(owners, workspaces, strict=True)}


def sessions_for(hosts: set[str], routes: dict[str, tuple[int, int]]) -> dict[str, str]:
    """A signed-in session for each host's owner, bound to that host's workspace, written in bulk (what signing in
    there would store). Returns host → session key."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.base import VALID_KEY_CHARS
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    from shared_apps.accounts.models import User
    from shared_apps.accounts.sessions import SESSION_TENANT_KEY

    users = User.objects.in_bulk([routes[h][1] for h in hosts])
    store = SessionStore()
    expires = timezone.now() + timedelta(days=1)
    keys: dict[str, str] = {}
    rows = []
    for host in hosts:
        tenant_id, user_id = routes[host]
        user = users[user_id]
        key = get_random_string(32, VALID_KEY_CHARS)
        data = {
            SESSION_KEY: str(user.pk),
            BACKEND_SESSION_KEY: settings.AUTHENTICATION_BACKENDS[0],
            HASH_SESSION_KEY: user.get_session_auth_hash(),
            SESSION_TENANT_KEY: tenant_id,
        }
        rows.append(Session(session_key=key, session_data=store.encode(data), expire_date=expires))
        keys[host] = key
    Session.objects.bulk_create(rows, batch_size=2000)
    return keys


class PageClient:
    """The test client, one cookie jar, the session of the host asked for: Django's whole stack, no sockets."""

    def __init__(self, sessions: dict[str, str]) -> None:
        from django.conf import settings
        from django.test import Client

        self.client = Client()
        self.cookie = settings.SESSION_COOKIE_NAME
        self.sessions = sessions

    def get(self, host: str) -> tuple[float, int, bytes]:
        self.client.cookies[self.cookie] = self.sessions[host]
        t0 = time.perf_counter()
        response = self.client.get("/", HTTP_HOST=host)
        elapsed = time.perf_counter() - t0
        return elapsed, response.status_code, response.content

    def finish(self) -> None:
        """What a WSGI server's end of request does (the test client leaves it out): close the connection if it is
        older than CONN_MAX_AGE."""
        from django.db import close_old_connections

        close_old_connections()


def check_page(host: str, status: int, body: bytes) -> None:
    slug = host.split(".")[0]
    if status != 200 or f"Scale project {slug}".encode() not in body:
        raise SystemExit(f"FAILED: {host} answered {status} without its own project: {body[:300]!r}")
    if body.count(b"Scale project scale") != 1:
        raise SystemExit(f"FAILED: {host}'s page shows another workspace's project")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def pages(
    hosts: list[str], levels: list[int], rounds: int, per_round: int, routes: dict[str, tuple[int, int]]
) -> dict[int, list[float]]:
    """p50/p95 of the home page for a random workspace among `level` of them, for each level. The levels take turns
    request by request (each round is every level's requests shuffled together), so whatever else the machine does
    at some moment weighs on all of them alike."""
    rng = random.Random(7)  # noqa: S311  (a reproducible sample, not a secret)
    pools = {level: rng.sample(hosts, level) for level in levels}
    plan = []
    for _ in range(rounds):
        batch = [(level, rng.choice(pools[level])) for level in levels for _ in range(per_round)]
        rng.shuffle(batch)
        plan.append(batch)
    client = PageClient(sessions_for({h for batch in plan for _level, h in batch} | set(pools[levels[0]]), routes))
    for host in pools[levels[0]]:  # warm-up: the process, the connection, the smallest level's workspaces
        check_page(host, *client.get(host)[1:])
        client.finish()
    times: dict[int, list[float]] = {level: [] for level in levels}
    for n, batch in enumerate(plan, 1):
        for level, host in batch:
            elapsed, status, body = client.get(host)
            check_page(host, status, body)
            times[level].append(elapsed)
            client.finish()
        log(f"  round {n}/{rounds}")
    return times


def deep_size(obj: object, seen: set[int] | None = None) -> int:
    """Bytes held by an object and everything it refers to (containers, slots, instance dicts), each counted once."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    size = sys.getsizeof(obj)
    if isinstance(obj, dict):
        size += sum(deep_size(k, seen) + deep_size(v, seen) for k, v in obj.items())
    elif isinstance(obj, list | tuple | set | frozenset):
        size += sum(deep_size(item, seen) for item in obj)
    else:
        for slot in getattr(type(obj), "__slots__", ()):
            if hasattr(obj, slot):
                size += deep_size(getattr(obj, slot), seen)
        if hasattr(obj, "__dict__"):
            size += deep_size(vars(obj), seen)
    return size


def route_cache(hosts: list[str]) -> tuple[int, float, float]:
    """Resolve every host through the middleware's entry points, then measure the process's routing caches: (entries
    in the LRU, its MB, MB per 10,000 entries)."""
    from tenants import routing

    routing.clear()
    for host in hosts:
        routing.resolve(host)
        routing._validated_hosts[host] = host  # what request_host keeps for each Host header it has checked
    held = deep_size(routing.local_cache._data) + deep_size(routing._validated_hosts)
    entries = len(routing.local_cache._data)
    return entries, held / 2**20, held / max(entries, 1) * 10_000 / 2**20


def backend_memory() -> tuple[int, float, float | None]:
    """(pid, memory contexts MB, anonymous RSS MB or None) of the backend behind Django's connection."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid(), (SELECT sum(total_bytes) FROM pg_backend_memory_contexts)")
        pid, contexts = cursor.fetchone()
    rss = None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("RssAnon:"):
                rss = int(line.split()[1]) / 1024
    except OSError:
        pass  # the server runs elsewhere: the memory contexts are the figure
    return pid, int(contexts) / 2**20, rss


def touch_walk(
    client: PageClient, hosts: list[str], checkpoints: set[int], report: Callable[[int, int, float, float | None], None]
) -> tuple[float, float | None, set[int]]:
    """Request one new workspace after another; report backend memory at the checkpoints. Returns the largest
    memory-contexts and RSS figures seen and the backend pids that served the walk."""
    peak_ctx, peak_rss, pids = 0.0, None, set()
    for n, host in enumerate(hosts, 1):
        _elapsed, status, body = client.get(host)
        check_page(host, status, body)
        if n in checkpoints or n % 100 == 0:
            pid, ctx, rss = backend_memory()
            pids.add(pid)
            peak_ctx = max(peak_ctx, ctx)
            if rss is not None:
                peak_rss = max(peak_rss or 0.0, rss)
            if n in checkpoints:
                report(n, pid, ctx, rss)
        client.finish()
    return peak_ctx, peak_rss, pids


def backend_walks(
    hosts: list[str], touch: int, recycle_s: float, routes: dict[str, tuple[int, int]]
) -> tuple[float | None, float]:
    """Backend memory while touching `touch` workspaces: never recycled, then recycled every `recycle_s` seconds
    (CONN_MAX_AGE). Returns the recycled walk's peak (RSS MB, or None off-machine) and its memory-contexts peak."""
    from django.db import connection

    rng = random.Random(11)  # noqa: S311
    walk = rng.sample(hosts, min(touch, len(hosts)))
    client = PageClient(sessions_for(set(walk), routes))
    checkpoints = {n for n in (1, 10, 100, 1000, 3000, 10_000) if n <= len(walk)} | {len(walk)}

    def report(n: int, pid: int, ctx: float, rss: float | None) -> None:
        rss_text = f"{rss:7.1f} MB" if rss is not None else "    n/a"
        log(f"  {n:6d} workspaces touched: backend {pid} memory contexts {ctx:7.1f} MB, anonymous RSS {rss_text}")

    settings_dict = connection.settings_dict
    try:
        connection.close()
        settings_dict["CONN_MAX_AGE"] = None
        log(f"one connection, never recycled, {len(walk)} workspaces one after another:")
        t0 = time.perf_counter()
        _ctx, _rss, _pids = touch_walk(client, walk, checkpoints, report)
        rate = len(walk) / (time.perf_counter() - t0)
        connection.close()
        settings_dict["CONN_MAX_AGE"] = recycle_s
        log(f"CONN_MAX_AGE={recycle_s:g} (about {rate * recycle_s:.0f} requests a connection at this pace):")
        ctx, rss, pids = touch_walk(client, list(reversed(walk)), checkpoints, report)
        log(f"  peak {ctx:.1f} MB of memory contexts, {rss or 0:.1f} MB anonymous RSS over {len(pids)} backends")
    finally:
        connection.close()
        settings_dict["CONN_MAX_AGE"] = 600
    return rss, ctx


def user_table_cost(url: str) -> tuple[int, float, float]:
    """A database foreign key hangs two triggers on the table it references, and a backend loads all of them the
    first time it reads that table; tenant tables reference public ones without constraints (tenants.references), so
    the user table's triggers are the public tables' own, whatever the number of workspaces. Returns (triggers on the
    user table, a new connection's first read of it in ms, the memory that read added to the backend in MB)."""
    import psycopg

    from shared_apps.accounts.models import User

    table = User._meta.db_table
    memory = "SELECT sum(total_bytes) FROM pg_backend_memory_contexts"

    def one(conn: Any, sql: str, params: list[str] | None = None) -> int:
        row = conn.execute(sql, params).fetchone()
        return int(row[0]) if row else 0

    with psycopg.connect(url, autocommit=True) as conn:
        count = one(conn, "SELECT count(*) FROM pg_trigger WHERE tgrelid = %s::regclass", [f"public.{table}"])
        before = one(conn, memory)
        t0 = time.perf_counter()
        conn.execute(f"SELECT id FROM public.{table} LIMIT 1").fetchall()  # noqa: S608  (the model's own table)
        first_ms = (time.perf_counter() - t0) * 1000
        after = one(conn, memory)
    return count, first_ms, (after - before) / 2**20


def timed_noop_migrate() -> tuple[float, str]:
    from bench.migrate import timed_migrate

    return timed_migrate()


def routes_report(hosts: list[str]) -> float:
    """Every host resolved once: the routing cache's size (megabytes returned)."""
    from tenants import routing

    # The workspaces were made in bulk, without the signals that announce route changes: announce one, as the
    # first sign-up through the pages would, so that processes follow the route feed (tenants.routing).
    routing.announce([hosts[0]])
    entries, cache_mb, per_10k_mb = route_cache(hosts)
    log(
        f"routing cache after resolving all {len(hosts)} hosts: {entries} routes in the LRU (at most"
        f" {routing.local_cache.maxsize}),"
        f" {cache_mb:.2f} MB with the validated-host map ({per_10k_mb:.2f} MB per 10,000 entries)"
    )
    return cache_mb


def pages_report(hosts: list[str], *, rounds: int, per_round: int, routes: dict[str, Any]) -> tuple[float, float]:
    """The home page among 10, 1,000 and all workspaces: its p95 (seconds) among the fewest and among all."""
    levels = sorted({min(10, len(hosts)), min(1000, len(hosts)), len(hosts)})
    log(
        f"home page as each workspace's owner, random workspace among {', '.join(map(str, levels))};"
        f" {rounds} interleaved rounds of {per_round} requests each"
    )
    times = pages(hosts, levels, rounds, per_round, routes)
    for level in levels:
        values = times[level]
        log(
            f"  among {level:6d}: p50 {statistics.median(values) * 1000:6.2f} ms"
            f"  p95 {percentile(values, 0.95) * 1000:6.2f} ms  ({len(values)} requests)"
        )
    return percentile(times[levels[0]], 0.95), percentile(times[levels[-1]], 0.95)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=8, help="interleaved rounds of each level")
    parser.add_argument("--per-round", type=int, default=150, help="requests per level per round")
    parser.add_argument("--touch", type=int, default=2000, help="workspaces touched by the backend-memory walks")
    parser.add_argument("--recycle-s", type=float, default=5.0, help="CONN_MAX_AGE of the recycled walk")
    parser.add_argument(
        "--provision-budget-s", type=float, default=0, help="stop provisioning after this long and measure what exists"
    )
    parser.add_argument("--database", default=BENCH_DB, help="name of the throwaway database")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()

    base_url = server_url()
    url = with_database(base_url, args.database)
    recreate_database(base_url, args.database)
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ["CONN_MAX_AGE"] = "600"  # one persistent connection, as a production worker keeps (CONN_MAX_AGE)
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections

    from tenants import provisioning
    from tenants.services import public_tenant_ensure

    workers = int(settings.TENANT_MULTIPROCESSING_MAX_PROCESSES)
    shared = settings.CACHES["shared"]["BACKEND"].rsplit(".", 2)[-2]
    try:
        log(f"database {args.database}; {os.cpu_count()} cores; {workers} workers; shared cache: {shared}")
        t0 = time.perf_counter()
        call_command("migrate_schemas", interactive=False, verbosity=0)
        public_tenant_ensure()
        provisioning.template_ensure()
        log(f"public + template migrated in {time.perf_counter() - t0:.1f}s")

        t0 = time.perf_counter()
        workspaces = provision(args.tenants, workers, args.provision_budget_s)
        log(f"{len(workspaces)} workspaces by the fast path in {time.perf_counter() - t0:.1f}s")
        t0 = time.perf_counter()
        owners = seed(workspaces)
        log(f"an owner and a project in each, in {time.perf_counter() - t0:.1f}s")
        triggers, first_ms, added_mb = user_table_cost(url)
        log(
            f"the user table carries {triggers} foreign-key triggers (none from the workspaces' tables): a new"
            f" connection's first read of it takes {first_ms:.1f} ms and adds {added_mb:.1f} MB to its backend"
        )
        hosts = [host for _t, _s, host in workspaces]
        routes = {host: (t, owners[t]) for t, _s, host in workspaces}

        cache_mb = routes_report(hosts)
        p95_small, p95_large = pages_report(hosts, rounds=args.rounds, per_round=args.per_round, routes=routes)

        rss, ctx = backend_walks(hosts, args.touch, args.recycle_s, routes)
        backend_mb = rss if rss is not None else ctx

        noop_s, summary = timed_noop_migrate()
        log(summary)
        log(f"no-op migrate_schemas over {len(hosts)} workspaces (public and template included): {noop_s:.1f}s")

        log(
            f"scale: tenants={len(hosts)} p95_ratio_10k_vs_10={p95_large / p95_small:.2f}x"
            f" route_cache_mb={cache_mb:.2f} backend_rss_mb={backend_mb:.1f} noop_migrate_s={noop_s:.1f}"
        )
        return 0
    finally:
        connections.close_all()
        if not args.keep:
            recreate_database(base_url, args.database, drop_only=True)


if __name__ == "__main__":
    sys.exit(main())
