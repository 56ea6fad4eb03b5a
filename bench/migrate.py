"""Migrations at scale (`make bench-migrate`): 1,000 tenants, a no-op `migrate_schemas`, then one that adds a column.

In its own throwaway database (`atrium_bench_migrate`) on the server DATABASE_URL names (the embedded development
server when it is unset), dropped at the end:

1. `migrate_schemas` (public + the template), then N tenants (default 1,000) provisioned by the fast path.
2. A no-op `migrate_schemas`, timed end to end (public included) and divided by N. Side by side, in the same run,
   django-tenants' standard executor on a sample of tenants, for the ratio.
3. A migration that adds a column to a tenant table (projects_project), given to Django through MIGRATION_MODULES (a
   temporary copy of the workspace migrations plus one more; the source tree is not touched), then `migrate_schemas`
   timed the same way and checked: every tenant schema has the column.

The last line is

  migrate: tenants=1000 noop_ms_per_tenant=… addcol_ms_per_tenant=…
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import log, recreate_database, server_url, with_database  # noqa: E402

BENCH_DB = "atrium_bench_migrate"
ADDCOL_MIGRATION = """
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("projects", "{previous}")]
    operations = [
        migrations.AddField(
            model_name="project", name="bench_archived", field=models.BooleanField(default=False)
        ),
    ]
"""


def provision(count: int, workers: int) -> list[str]:
    """`count` tenants with domains by the fast path, over `workers` threads (each its own connection)."""
    from django.conf import settings
    from django.db import connections, transaction

    from tenants import provisioning
    from tenants.models import Domain, TenantStatus

    lock = threading.Lock()
    schemas: list[str] = []
    next_index = iter(range(count))
    started = time.perf_counter()

    def worker() -> None:
        try:
            while True:
                with lock:
                    i = next(next_index, None)
                if i is None:
                    return
                with transaction.atomic():
                    tenant, _via = provisioning.tenant_with_schema(
                        name=f"Bench {i}", status=TenantStatus.ACTIVE, method=provisioning.Method.FAST
                    )
                    Domain.objects.create(tenant=tenant, domain=f"bench{i:04d}.{settings.BASE_DOMAIN}")
                with lock:
                    schemas.append(tenant.schema_name)
                    done = len(schemas)
                if done % 100 == 0 or done == count:
                    rate = done / (time.perf_counter() - started)
                    log(f"  provisioned {done}/{count} ({rate:.0f}/s)")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return schemas


def timed_migrate() -> tuple[float, str]:
    from django.core.management import call_command

    out = io.StringIO()
    real_stdout = sys.stdout
    sys.stdout = out  # the executor prints progress and its summary on sys.stdout
    try:
        t0 = time.perf_counter()
        call_command("migrate_schemas", interactive=False, verbosity=1, stdout=out)
        elapsed = time.perf_counter() - t0
    finally:
        sys.stdout = real_stdout
    summary = [line for line in out.getvalue().splitlines() if line.startswith(("Migrated", "  FAILED"))]
    return elapsed, "\n".join(summary)


def standard_noop_sample(schemas: list[str]) -> list[float]:
    """django-tenants' standard executor, no-op, over a sample of tenants in one run: its cost per tenant."""
    from django.core.management import load_command_class
    from django_tenants.migration_executors.standard import StandardExecutor

    command = load_command_class("django_tenants", "migrate_schemas")
    options = vars(command.create_parser("manage.py", "migrate_schemas").parse_args(["--noinput", "-v", "0"]))
    times = []
    real_stdout = sys.stdout
    sys.stdout = io.StringIO()
    try:
        for schema in schemas:
            t0 = time.perf_counter()
            StandardExecutor([], dict(options)).run_migrations(tenants=[schema])
            times.append(time.perf_counter() - t0)
    finally:
        sys.stdout = real_stdout
    return times


def addcol_migration_package(tmp: Path) -> str:
    """A copy of the workspace app's migrations plus one that adds a column, importable as a top-level package."""
    source = ROOT / "tenant_apps" / "projects" / "migrations"
    package = tmp / "bench_workspace_migrations"
    package.mkdir()
    names = sorted(p.stem for p in source.glob("[0-9][0-9][0-9][0-9]_*.py"))
    for path in source.glob("*.py"):
        shutil.copy(path, package / path.name)
    (package / "__init__.py").touch()
    number = int(names[-1][:4]) + 1
    (package / f"{number:04d}_bench_archived.py").write_text(ADDCOL_MIGRATION.format(previous=names[-1]))
    sys.path.insert(0, str(tmp))
    return package.name


def column_count(schemas: list[str]) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM information_schema.columns WHERE table_schema = ANY(%s)"
            " AND table_name = 'projects_project' AND column_name = 'bench_archived'",
            [schemas],
        )
        return int(cursor.fetchone()[0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--sample", type=int, default=10, help="tenants migrated by django-tenants' standard executor")
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
    from django.db import connections

    from tenants import provisioning
    from tenants.services import public_tenant_ensure

    workers = int(settings.TENANT_MULTIPROCESSING_MAX_PROCESSES)
    tmp = Path(tempfile.mkdtemp(prefix="atrium-bench-migrate-"))
    try:
        log(f"database {BENCH_DB}; {os.cpu_count()} cores; {workers} workers")
        t0 = time.perf_counter()
        from django.core.management import call_command

        call_command("migrate_schemas", interactive=False, verbosity=0)
        public_tenant_ensure()
        provisioning.template_ensure()
        log(f"public + template migrated in {time.perf_counter() - t0:.1f}s")

        t0 = time.perf_counter()
        schemas = provision(args.tenants, workers)
        log(f"{len(schemas)} tenants by the fast path in {time.perf_counter() - t0:.1f}s")

        noop_s, noop_summary = timed_migrate()
        log(noop_summary)
        sample = standard_noop_sample(schemas[: args.sample])
        standard_ms = statistics.median(sample) * 1000
        noop_ms = noop_s * 1000 / len(schemas)
        log(
            f"no-op: {noop_ms:.2f} ms/tenant here vs {standard_ms:.0f} ms/tenant with django-tenants' standard executor"
            f" (median of {len(sample)}) -> {standard_ms / noop_ms:.0f}x"
        )

        settings.MIGRATION_MODULES = {"projects": addcol_migration_package(tmp)}
        provisioning.snapshots_clear()
        addcol_s, addcol_summary = timed_migrate()
        log(addcol_summary)
        have = column_count(schemas)
        if have != len(schemas):
            log(f"FAILED: {have} of {len(schemas)} tenant schemas have the new column")
            return 1
        addcol_ms = addcol_s * 1000 / len(schemas)
        log(f"add-column: every one of the {len(schemas)} tenant schemas has the new column")
        log(f"migrate: tenants={len(schemas)} noop_ms_per_tenant={noop_ms:.2f} addcol_ms_per_tenant={addcol_ms:.2f}")
        return 0
    finally:
        connections.close_all()
        shutil.rmtree(tmp, ignore_errors=True)
        if not args.keep:
            recreate_database(base_url, BENCH_DB, drop_only=True)


if __name__ == "__main__":
    sys.exit(main())
