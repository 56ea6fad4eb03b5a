"""The operators' metrics refresh at scale (`make bench-metrics`): 1,000 workspaces, every schema read in bulk.

In its own throwaway database (`atrium_bench_metrics`) on the server DATABASE_URL names (the embedded development
server when it is unset), dropped at the end:

1. `migrate_schemas` (public + the template), then N workspaces (default 1,000) by the fast path, each with an owner,
   a billing account, a few projects and tasks, and two months of its members' audit entries (written in bulk).
2. `metrics_refresh(full=True)` (the first refresh reads a year of activity) and an incremental one, timed, with the
   statements they sent; side by side, in the same run, the naive way: `schema_context` into each workspace in turn
   and ask the same questions with the ORM.

The last line is

  metrics: tenants=1000 refresh_s=… incremental_s=… naive_s=… speedup=…x statements=…

(target: refresh_s ≤ 30)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import log, recreate_database, server_url, with_database  # noqa: E402

BENCH_DB = "atrium_bench_metrics"
PROJECTS, TASKS_PER_PROJECT, DAYS, ENTRIES_PER_DAY = 5, 8, 60, 3
# One workspace's data: projects, their tasks, and its owner's actions spread over DAYS days (a few hours skipped).
# Schema names come from the catalog; the time is a bound parameter.
SEED_SQL = (
    "INSERT INTO {q}.projects_project (name, description, visibility, created_by_id, created_at, updated_at)"  # noqa: S608
    f" SELECT 'Project ' || g, '', 'workspace', {{owner}}, now(), now() FROM generate_series(1, {PROJECTS}) g;"
    " INSERT INTO {q}.projects_task (project_id, title, description, status, position, created_at, updated_at)"
    " SELECT p.id, 'Task ' || g, '', 'todo', g, now(), now() FROM {q}.projects_project p,"
    f" generate_series(1, {TASKS_PER_PROJECT}) g;"
    " INSERT INTO {q}.audit_auditentry (action, actor_id, actor_label, target_type, target_id, target_label,"
    " user_agent, metadata, created_at) SELECT 'task.moved', {owner}, 'owner', '', '', '', '', '{{}}',"
    f" %s::timestamptz - (g || ' hours')::interval FROM generate_series(1, {DAYS * ENTRIES_PER_DAY}) g"
    " WHERE g %% 5 <> {skip};"
)


def seed(tenants: list[tuple[int, str]]) -> None:
    """An owner, a billing account, projects, tasks and members' audit entries in every workspace, in bulk."""
    from django.db import connection
    from django.utils import timezone

    from billing.models import BillingAccount
    from shared_apps.accounts.models import Membership, Role, User

    owners = User.objects.bulk_create(
        [User(email=f"owner{tenant_id}@bench.test", name=f"Owner {tenant_id}") for tenant_id, _s in tenants]
    )
    Membership.objects.bulk_create(
        [Membership(user=u, tenant_id=t, role=Role.OWNER) for u, (t, _s) in zip(owners, tenants, strict=True)]
    )
    BillingAccount.objects.bulk_create(
        [
            BillingAccount(
                tenant_id=t, plan="pro", interval="month", status="active" if t % 3 else "trialing", seats_paid=5
            )
            for t, _s in tenants
        ]
    )
    now = timezone.now()
    for offset in range(0, len(tenants), 100):
        script = []
        for (tenant_id, schema), owner in zip(
            tenants[offset : offset + 100], owners[offset : offset + 100], strict=True
        ):
            script.append(SEED_SQL.format(q=f'"{schema}"', owner=owner.pk, skip=tenant_id % 5))
        with connection.cursor() as cursor:
            cursor.execute("\n".join(script), [now] * len(script))  # schema names from the catalog, values bound
        log(f"  seeded {min(offset + 100, len(tenants))}/{len(tenants)}")


def naive(tenants: list[tuple[int, str]]) -> dict[str, float]:
    """The same refresh done one workspace at a time: `schema_context` into each and ask the ORM the same questions
    (counts, last activity, activity per day), then its size, members and billing account, then write its row."""
    from datetime import UTC, timedelta

    from django.db.models import Count, Max
    from django.db.models.functions import TruncDate
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from billing.models import BillingAccount
    from billing.selectors import account_mrr_cents, storage_used_bytes
    from shared_apps.accounts.models import Membership
    from shared_apps.workspaces.models import WorkspaceMetrics
    from tenant_apps.audit.models import AuditEntry
    from tenant_apps.projects.models import Project, Task

    now = timezone.now()
    since = now - timedelta(days=366)
    times = {"schemas": 0.0, "everything": 0.0}
    t0 = time.perf_counter()
    for tenant_id, schema in tenants:
        t1 = time.perf_counter()
        with schema_context(schema):
            projects, tasks = Project.objects.count(), Task.objects.count()
            members = AuditEntry.objects.filter(actor__isnull=False)
            last = members.aggregate(last=Max("created_at"))["last"]
            list(
                members.filter(created_at__gte=since)
                .annotate(day=TruncDate("created_at", tzinfo=UTC))
                .values("day")
                .annotate(n=Count("id"))
            )
        times["schemas"] += time.perf_counter() - t1
        account = BillingAccount.objects.filter(tenant_id=tenant_id).first()
        WorkspaceMetrics.objects.update_or_create(
            tenant_id=tenant_id,
            defaults={
                "members": Membership.objects.filter(tenant_id=tenant_id).count(),
                "projects": projects,
                "tasks": tasks,
                "database_bytes": storage_used_bytes(schema_name=schema),
                "last_activity_at": last,
                "plan": account.plan if account else "",
                "mrr_cents": account_mrr_cents(account) if account else 0,
                "refreshed_at": now,
            },
        )
    times["everything"] = time.perf_counter() - t0
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()

    base_url = server_url()
    url = with_database(base_url, BENCH_DB)
    recreate_database(base_url, BENCH_DB)
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, connections
    from django.test.utils import CaptureQueriesContext

    from bench.migrate import provision
    from shared_apps.workspaces.metrics import metrics_refresh
    from shared_apps.workspaces.models import WorkspaceDay, WorkspaceMetrics
    from tenants import provisioning
    from tenants.cross_schema import workspace_schemas
    from tenants.services import public_tenant_ensure

    try:
        log(f"database {BENCH_DB}; {os.cpu_count()} cores; batches of {settings.METRICS_BATCH_SIZE} schemas")
        t0 = time.perf_counter()
        call_command("migrate_schemas", interactive=False, verbosity=0)
        public_tenant_ensure()
        provisioning.template_ensure()
        provision(args.tenants, int(settings.TENANT_MULTIPROCESSING_MAX_PROCESSES))
        tenants = workspace_schemas()
        log(f"{len(tenants)} workspaces by the fast path in {time.perf_counter() - t0:.1f}s")
        t0 = time.perf_counter()
        seed(tenants)
        log(f"seeded in {time.perf_counter() - t0:.1f}s")

        with CaptureQueriesContext(connection) as captured:
            first = metrics_refresh(full=True)
        log(
            f"refresh (a year of activity): {first.seconds:.2f}s, {len(captured)} statements,"
            f" {WorkspaceMetrics.objects.count()} metrics rows, {WorkspaceDay.objects.count()} workspace-days,"
            f" failed: {first.failed or 'none'}"
        )
        log("  " + ", ".join(f"{name} {seconds:.2f}s" for name, seconds in first.phases.items()))
        second = metrics_refresh()
        log(f"refresh (incremental, since {second.since}): {second.seconds:.2f}s")
        slow = naive(tenants)
        naive_s = slow["everything"]
        reads = first.phases["counts"] + first.phases["activity per day"]
        log(
            f"naive, one workspace at a time through schema_context: {naive_s:.2f}s, of which reading the schemas"
            f" {slow['schemas']:.2f}s (bulk: {reads:.2f}s, {slow['schemas'] / reads:.1f}x)"
        )
        if first.failed or len(tenants) != WorkspaceMetrics.objects.count():
            log("FAILED: not every workspace was counted")
            return 1
        log(
            f"metrics: tenants={len(tenants)} refresh_s={first.seconds:.2f} incremental_s={second.seconds:.2f}"
            f" naive_s={naive_s:.2f} speedup={naive_s / first.seconds:.1f}x statements={len(captured)}"
            f" naive_statements={len(tenants) * 11}"
        )
        return 0
    finally:
        connections.close_all()
        if not args.keep:
            recreate_database(base_url, BENCH_DB, drop_only=True)


if __name__ == "__main__":
    sys.exit(main())
