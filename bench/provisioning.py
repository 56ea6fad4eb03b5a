"""Provisioning benchmark (`make bench-provisioning`): a signup's workspace, three ways, side by side in one run.

On the project's real TENANT_APPS, in a throwaway database (`atrium_bench_provisioning`) on the server DATABASE_URL
names (the embedded development server when it is unset), dropped at the end. N tenants (default 20) each way, the
ways interleaved round by round (the order rotates), each one a full
`shared_apps.workspaces.services.workspace_create` (validation, owner account, tenant, domain, owner membership,
audit entry, one transaction):

  pool     a warm-pool spare claimed (`SELECT … FOR UPDATE SKIP LOCKED`); the spares are made beforehand, untimed
  fast     the pool bypassed: the template's snapshot replayed into a new schema in one round trip
  migrate  django-tenants' path: CREATE SCHEMA, then every migration

Timed: `workspace_create` from its call to its return, its transaction and what runs when it commits (the new host's
"no workspace here" entry deleted from the shared cache). Left out, and named in the
output: every task signup queues to run after commit (the welcome, the trial's start at Stripe, the pool refill),
which a worker runs in production; here they are recorded instead of run. Owners get no password (hashing is the
login's cost, not provisioning's). Statements are counted at the psycopg level for each timed call (the median per
way is printed). The last line is

  provisioning: pool_p50_ms=… fast_p50_ms=… migrate_p50_ms=… speedup_pool=…x speedup_fast=…x pool_statements=…
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import log, recreate_database, server_url, with_database  # noqa: E402

BENCH_DB = "atrium_bench_provisioning"
WAYS = ("pool", "fast", "migrate")


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def create_each_way(n: int) -> tuple[dict[str, list[float]], dict[str, list[int]]]:
    """`n` workspaces each way (after one untimed warm-up each), the ways taking turns: milliseconds and statements
    of each workspace_create."""
    from shared_apps.core.statements import count_statements
    from shared_apps.workspaces.services import workspace_create
    from tenants.models import TenantStatus
    from tenants.provisioning import Method

    method = {"pool": Method.POOL, "fast": Method.FAST, "migrate": Method.MIGRATIONS}
    for way in WAYS:  # warm-up, untimed: imports, the template's snapshot, the migration graph
        workspace_create(
            slug=f"warmup-{way}", name="Warm-up", owner_email=f"warmup-{way}@bench.test", method=method[way]
        )

    timings: dict[str, list[float]] = {way: [] for way in WAYS}
    statements: dict[str, list[int]] = {way: [] for way in WAYS}
    for i in range(n):
        order = WAYS[i % 3 :] + WAYS[: i % 3]
        for way in order:
            slug = f"{way}-{i:03d}"
            with count_statements() as sent:
                t0 = time.perf_counter()
                tenant, _owner = workspace_create(
                    slug=slug, name=f"Bench {way} {i}", owner_email=f"{slug}@bench.test", method=method[way]
                )
                timings[way].append((time.perf_counter() - t0) * 1000)
            statements[way].append(len(sent))
            if tenant.status != TenantStatus.ACTIVE:
                raise RuntimeError(f"{slug} is {tenant.status}")
    return timings, statements


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--tenants", type=int, default=20, help="tenants per way")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()
    n = args.tenants

    base_url = server_url()
    recreate_database(base_url, BENCH_DB)
    os.environ["DATABASE_URL"] = with_database(base_url, BENCH_DB)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections

    from shared_apps.core import transactions
    from tenants import provisioning, services
    from tenants.db import connection
    from tenants.models import Tenant, TenantStatus

    try:
        settings.TENANT_POOL_SIZE = 0  # the pool is filled beforehand, untimed; no refill is queued
        # Every task queued after commit is a worker's job: recorded, not run, not timed.
        left_out: set[str] = set()
        transactions._publish = lambda task, *, schema_name, kwargs: left_out.add(str(getattr(task, "name", task)))
        log(f"database {BENCH_DB} (PostgreSQL {connection.pg_version // 10000}); {os.cpu_count()} cores")
        log(f"tenant apps: {', '.join(settings.TENANT_APPS)}")
        t0 = time.perf_counter()
        call_command("migrate_schemas", interactive=False, verbosity=0)
        services.public_tenant_ensure()
        provisioning.template_ensure()
        log(f"public schema and template migrated in {time.perf_counter() - t0:.1f}s")

        t0 = time.perf_counter()
        filled = services.pool_fill(size=n + 1)
        log(f"warm pool: {filled.spares} spares made in {time.perf_counter() - t0:.1f}s (untimed)")

        timings, statements = create_each_way(n)
        spares_left = Tenant.objects.filter(status=TenantStatus.SPARE).count()

        log(f"\n{n} tenants each way (ms, one full workspace_create each; statements: median per call):")
        log(f"  {'way':<8} {'p50':>8} {'p95':>8} {'min':>8} {'max':>8} {'statements':>11}")
        p50 = {}
        for way in WAYS:
            values = timings[way]
            p50[way] = statistics.median(values)
            log(
                f"  {way:<8} {p50[way]:8.1f} {percentile(values, 95):8.1f} {min(values):8.1f} {max(values):8.1f}"
                f" {statistics.median(statements[way]):11.0f}"
            )
        log(f"  left out (queued after commit, a worker's job): {', '.join(sorted(left_out)) or 'nothing'}")
        log(f"  (spares left unclaimed: {spares_left})")
        speedup_pool = p50["migrate"] / p50["pool"]
        speedup_fast = p50["migrate"] / p50["fast"]
        log(
            f"provisioning: pool_p50_ms={p50['pool']:.1f} fast_p50_ms={p50['fast']:.1f}"
            f" migrate_p50_ms={p50['migrate']:.1f} speedup_pool={speedup_pool:.1f}x speedup_fast={speedup_fast:.1f}x"
            f" pool_statements={statistics.median(statements['pool']):.0f}"
        )
        return 0
    finally:
        connections.close_all()
        if not args.keep:
            recreate_database(base_url, BENCH_DB, drop_only=True)


if __name__ == "__main__":
    sys.exit(main())
