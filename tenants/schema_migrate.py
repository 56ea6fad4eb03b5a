"""`migrate_schemas` at scale: public, then the template, spares and every tenant, in parallel.

Plugged into django-tenants' own command through `GET_EXECUTOR_FUNCTION`, so `manage.py migrate_schemas` (and
`migrate`) use it; `--executor standard|multiprocessing|subprocess` still picks django-tenants' executors.

django-tenants migrates one schema at a time and builds Django's migration loader and project state for each, even
when there is nothing to migrate (`make bench-migrate` measures what that costs per tenant). Here instead:

1. **Bulk recognition.** One query per few hundred schemas reads a digest of every schema's `django_migrations`.
   Schemas with the same digest have the same migration state, so the plan is computed once per group; a group
   whose plan is empty is up to date, with no further query.
2. **Plan and state once.** For a group with work to do, the loader, the plan and the pre-migration project state
   are built once. The first schema of the group (the template comes first) is migrated by Django's executor while
   the SQL its schema editor runs is recorded. If every operation is SQL (no RunPython, all atomic), that SQL plus
   the new `django_migrations` rows is replayed into each other schema of the group in one round trip and one
   transaction (one statement per message: Citus refuses multi-statement strings when it forwards DDL). Otherwise
   each schema runs Django's executor against a clone of the shared state.
3. **Parallel, and never stopping early.** Schemas are spread over `TENANT_MULTIPROCESSING_MAX_PROCESSES` worker
   threads (each with its own connection; the work is in the database). Progress shows done/total, rate and ETA.
   A schema that fails is rolled back and named in the summary; the others carry on. The command then exits non-zero.

Options this executor does not handle itself (an app label or target, --fake, --fake-initial, --plan, --check,
--prune, --run-syncdb) and schemas without a django_migrations table (being created) go through django-tenants'
standard path, unchanged.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TextIO

import sqlparse
from django.conf import settings
from django.core.management.base import CommandError
from django.core.management.sql import emit_post_migrate_signal
from django.db import connections, transaction
from django.db.migrations.executor import MigrationExecutor as DjangoMigrationExecutor
from django.db.migrations.migration import Migration
from django.db.migrations.operations import RunPython, SeparateDatabaseAndState
from django.db.migrations.operations.base import Operation
from django.db.migrations.recorder import MigrationRecorder
from django.db.migrations.state import ProjectState
from django_tenants.migration_executors import get_executor as _tenants_get_executor
from django_tenants.migration_executors.base import MigrationExecutor, run_migrations
from django_tenants.migration_executors.standard import StandardExecutor
from django_tenants.signals import schema_migrated

from shared_apps.core.sql import execute_pipelined, literal, quote
from tenants import citus, provisioning
from tenants.db import connection, direct_for_process
from tenants.models import Tenant, TenantStatus
from tenants.provisioning import FINGERPRINT_SQL

_STANDARD_ONLY_OPTIONS = (
    "app_label",
    "migration_name",
    "fake",
    "fake_initial",
    "plan",
    "check_unapplied",
    "prune",
    "run_syncdb",
)
_BATCH = 250


def get_executor(codename: str | None = None) -> type[MigrationExecutor]:
    """GET_EXECUTOR_FUNCTION: this bulk executor by default, django-tenants' ones when asked for by name."""
    codename = codename or os.environ.get("EXECUTOR") or BulkExecutor.codename
    if codename == BulkExecutor.codename:
        return BulkExecutor
    executor: type[MigrationExecutor] = _tenants_get_executor(codename)
    return executor


class BulkExecutor(MigrationExecutor):
    codename = "bulk"

    def run_migrations(self, tenants: Iterable[str] | None = None) -> None:
        # Migrations need a server session of their own (search_path across transactions): behind a transaction
        # pooler the command moves to DATABASE_DIRECT_URL. Inside a transaction (a schema made during signup) the
        # transaction is that session.
        if not connection.in_atomic_block:
            direct_for_process()
        with connection.schema_session():
            self._run_migrations(tenants)

    def _run_migrations(self, tenants: Iterable[str] | None) -> None:
        if any(self.options.get(name) for name in _STANDARD_ONLY_OPTIONS):
            StandardExecutor(self.args, self.options).run_migrations(tenants=list(tenants or []))
            return
        if tenants is not None and not isinstance(tenants, list):
            # The command's own list of every tenant (not a single --schema): on Citus, the reference tables first;
            # then make sure the template exists.
            _before_tenant_schemas(int(self.options.get("verbosity", 1)))
        schemas = list(tenants or [])
        if self.PUBLIC_SCHEMA_NAME in schemas:
            run_migrations(self.args, self.options, self.codename, self.PUBLIC_SCHEMA_NAME)
            schemas.remove(self.PUBLIC_SCHEMA_NAME)
        if not schemas:
            return
        report = migrate_schemas_in_bulk(
            schemas,
            run_fresh=lambda schema: run_migrations(self.args, self.options, "standard", schema),
            database=self.options.get("database") or self.TENANT_DB_ALIAS,
            verbosity=int(self.options.get("verbosity", 1)),
            stdout=sys.stdout,
        )
        if report.failed:
            raise CommandError(
                f"{len(report.failed)} of {report.total} schemas failed to migrate: "
                + ", ".join(o.schema for o in report.failed)
            )

    def run_multi_type_migrations(self, tenants: Any) -> None:
        if not connection.in_atomic_block:
            direct_for_process()
        with connection.schema_session():
            StandardExecutor(self.args, self.options).run_multi_type_migrations(tenants)


def _before_tenant_schemas(verbosity: int) -> None:
    """Once the public schema is migrated: on a Citus coordinator, the public tables tenant tables point at become
    reference tables (`manage.py citus prepare`; a tenant schema's tables can be created only then, so a fresh Citus
    database migrates in one command); then the template schema is made if there is none."""

    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT to_regclass('public.tenants_tenant') IS NOT NULL")
        if not cursor.fetchone()[0]:
            return
    state = citus.coordinator_state()
    if state.is_citus:
        converted = citus.prepare(citus.plan_derive(), state=state)
        if converted and verbosity >= 1:
            sys.stdout.write(f"Citus: made {len(converted)} reference table(s): {', '.join(converted)}\n")
    provisioning.template_ensure(verbosity=max(0, verbosity - 1))


# ---------------------------------------------------------------------------------------------------------------------
# The bulk run
# ---------------------------------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    schema: str
    status: str  # "current", "migrated", "failed"
    error: str = ""
    seconds: float = 0.0


@dataclass
class Report:
    total: int
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0
    groups: int = 0

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)


class _Progress:
    """done/total, rate and ETA, on one line when the output is a terminal, else every few seconds."""

    def __init__(self, total: int, stdout: TextIO, verbosity: int) -> None:
        self.total = total
        self.done = 0
        self.failed = 0
        self.stdout = stdout
        self.enabled = verbosity >= 1 and total > 0
        self.tty = hasattr(stdout, "isatty") and stdout.isatty()
        self.started = time.monotonic()
        self.last = 0.0
        self.lock = threading.Lock()

    def advance(self, outcomes: list[Outcome]) -> None:
        with self.lock:
            self.done += len(outcomes)
            self.failed += sum(1 for o in outcomes if o.status == "failed")
            now = time.monotonic()
            if not self.enabled:
                return
            finished = self.done >= self.total
            if not finished and now - self.last < (0.2 if self.tty else 5.0):
                return
            self.last = now
            elapsed = max(now - self.started, 1e-6)
            rate = self.done / elapsed
            eta = (self.total - self.done) / rate if rate > 0 else 0.0
            pct = 100 * self.done // self.total
            failed = f"  {self.failed} failed" if self.failed else ""
            line = (
                f"[{self.done:>{len(str(self.total))}}/{self.total}] {pct:3d}%  {rate:8.1f} schemas/s"
                f"  ETA {eta:6.1f}s{failed}"
            )
            if self.tty:
                self.stdout.write("\r" + line + ("\n" if finished else ""))
            else:
                self.stdout.write(line + "\n")
            self.stdout.flush()


def migrations_digests(schemas: list[str], database: str = "default") -> dict[str, str | None]:
    """schema → digest of its recorded migrations (None: no django_migrations table), in a few queries."""
    digests: dict[str, str | None] = dict.fromkeys(schemas)
    with connections[database].cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relname = 'django_migrations' AND c.relkind = 'r' AND n.nspname = ANY(%s)",
            [schemas],
        )
        with_table = [row[0] for row in cursor.fetchall()]
        for start in range(0, len(with_table), _BATCH):
            batch = with_table[start : start + _BATCH]
            sql = " UNION ALL ".join(
                f"SELECT %s, ({FINGERPRINT_SQL.format(table=quote(s) + '.django_migrations')})" for s in batch
            )
            cursor.execute(sql, batch)
            digests.update(dict(cursor.fetchall()))
    return digests


def _replayable(operation: Operation) -> bool:
    if isinstance(operation, RunPython):
        return False
    if isinstance(operation, SeparateDatabaseAndState):
        return all(_replayable(op) for op in operation.database_operations)
    return True


def plan_is_replayable(plan: list[tuple[Migration, bool]]) -> bool:
    return all(
        not backwards and migration.atomic and all(_replayable(op) for op in migration.operations)
        for migration, backwards in plan
    )


@contextmanager
def _recording_schema_editor(conn: Any, sink: list[str]) -> Any:
    """Record, exactly as sent, every statement the connection's schema editors run (deferred SQL included)."""
    original = conn.schema_editor

    def factory(*args: Any, **kwargs: Any) -> Any:
        editor = original(*args, **kwargs)
        raw_execute = editor.execute

        def execute(sql: Any, params: Any = ()) -> Any:
            text = str(sql)
            sink.append(conn.ops.compose_sql(text, params) if params is not None else text)
            return raw_execute(sql, params)

        editor.execute = execute
        return editor

    conn.schema_editor = factory
    try:
        yield
    finally:
        del conn.schema_editor


def _executor_for(conn: Any, loader: Any) -> DjangoMigrationExecutor:
    """Django's executor on `conn`, sharing an already built loader (no disk scan, no graph build per schema)."""
    executor = DjangoMigrationExecutor.__new__(DjangoMigrationExecutor)
    executor.connection = conn
    executor.loader = loader
    executor.recorder = MigrationRecorder(conn)
    executor.progress_callback = None
    return executor


@dataclass
class _Group:
    digest: str
    schemas: list[str]
    loader: Any = None
    plan: list[tuple[Migration, bool]] = field(default_factory=list)
    state: ProjectState | None = None
    post_state: ProjectState | None = None
    replay_sql: list[str] = field(default_factory=list)
    new_rows: list[tuple[str, str]] = field(default_factory=list)
    replay: bool = False


def _apply_with_executor(conn: Any, group: _Group, schema: str, record: list[str] | None = None) -> ProjectState:
    with conn.schema_session():
        return _apply_in_session(conn, group, schema, record)


def _apply_in_session(conn: Any, group: _Group, schema: str, record: list[str] | None) -> ProjectState:
    conn.set_schema(schema)
    try:
        executor = _executor_for(conn, group.loader)
        targets = list(group.loader.graph.leaf_nodes())
        if group.state is None:
            raise RuntimeError("the group's pre-migration state was not built")
        state = group.state.clone()
        atomic = all(m.atomic for m, _ in group.plan)
        ctx = _recording_schema_editor(conn, record) if record is not None else _null()
        with ctx:
            if atomic:
                with transaction.atomic(using=conn.alias):
                    post = executor.migrate(targets, plan=group.plan, state=state)
            else:
                post = executor.migrate(targets, plan=group.plan, state=state)
        emit_post_migrate_signal(0, False, conn.alias, apps=post.apps, plan=group.plan)
        return post
    finally:
        conn.set_schema_to_public()


@contextmanager
def _null() -> Any:
    yield


def _replay_into(conn: Any, group: _Group, schema: str) -> None:
    q = quote(schema)
    rows = ", ".join(f"({literal(app)}, {literal(name)}, now())" for app, name in group.new_rows)
    # Quoted names only; the recorded statements are the ones Django just ran on the group's first schema. One
    # statement per message (a RunSQL string holding several is split), all in one round trip.
    recorded = [part for statement in group.replay_sql for part in sqlparse.split(statement) if part.strip()]
    statements = [
        "SELECT set_config('atrium.search_path_before', current_setting('search_path'), true)",
        f"SELECT set_config('search_path', {literal(q + ', public')}, true)",
        *(statement.rstrip().rstrip(";") for statement in recorded),
        *([f"INSERT INTO {q}.django_migrations (app, name, applied) VALUES {rows}"] if rows else []),  # noqa: S608
        "SELECT set_config('search_path', current_setting('atrium.search_path_before'), true)",
    ]
    with transaction.atomic(using=conn.alias):
        execute_pipelined(conn, statements)


def _prepare(group: _Group, database: str) -> None:
    """Loader, plan and pre-migration state for the group, built once from its first schema."""
    conn: Any = connections[database]
    with conn.schema_session():
        _prepare_in_session(conn, group)


def _prepare_in_session(conn: Any, group: _Group) -> None:
    conn.set_schema(group.schemas[0])
    try:
        executor = DjangoMigrationExecutor(conn)
        group.loader = executor.loader
        group.plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if group.plan:
            group.state = executor._create_project_state(with_applied_migrations=True)  # type: ignore[attr-defined]
            group.state.apps  # noqa: B018  (render once; every schema of the group gets a clone)
            group.replay = plan_is_replayable(group.plan)
    finally:
        conn.set_schema_to_public()


def _recorded(schema: str, database: str) -> set[tuple[str, str]]:
    with connections[database].cursor() as cursor:
        cursor.execute(f"SELECT app, name FROM {quote(schema)}.django_migrations")  # noqa: S608
        return {(a, n) for a, n in cursor.fetchall()}


def _error_text(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def migrate_schemas_in_bulk(
    schemas: list[str],
    *,
    run_fresh: Callable[[str], None] | None = None,
    database: str = "default",
    verbosity: int = 1,
    stdout: TextIO = sys.stdout,
    workers: int | None = None,
) -> Report:
    """Bring every schema up to the code's migrations. See the module docstring for how."""
    started = time.monotonic()
    workers = max(1, workers or int(getattr(settings, "TENANT_MULTIPROCESSING_MAX_PROCESSES", 2)))
    if connections[database].in_atomic_block:
        workers = 1  # other connections could neither see this transaction's work nor get past its locks
    schemas = _ordered(schemas, database)
    report = Report(total=len(schemas))
    progress = _Progress(len(schemas), stdout, verbosity)

    def done(outcomes: list[Outcome]) -> None:
        report.outcomes.extend(outcomes)
        progress.advance(outcomes)

    digests = migrations_digests(schemas, database)
    groups: dict[str, _Group] = {}
    fresh: list[str] = []
    for schema in schemas:
        digest = digests[schema]
        if digest is None:
            fresh.append(schema)
        else:
            groups.setdefault(digest, _Group(digest=digest, schemas=[])).schemas.append(schema)
    report.groups = len(groups)

    for schema in fresh:  # being created: django-tenants' own path, as `Tenant.create_schema` expects
        t0 = time.monotonic()
        try:
            if run_fresh is None:
                raise RuntimeError("no django_migrations table")
            run_fresh(schema)
            done([Outcome(schema, "migrated", seconds=time.monotonic() - t0)])
        except Exception as exc:  # noqa: BLE001  (reported in the summary; the other schemas carry on)
            done([Outcome(schema, "failed", _error_text(exc), time.monotonic() - t0)])

    jobs: list[tuple[_Group, str]] = []
    for group in groups.values():
        _prepare(group, database)
        if not group.plan:
            done([Outcome(schema, "current") for schema in group.schemas])
            schema_migrated_many(group.schemas)
            continue
        jobs.extend(_lead(group, database, done, workers))

    if jobs:
        _run_parallel(jobs, database, workers, done)

    report.seconds = time.monotonic() - started
    if verbosity >= 1 or report.failed:
        _summary(report, stdout)
    return report


def schema_migrated_many(schemas: list[str]) -> None:
    for schema in schemas:
        schema_migrated.send(run_migrations, schema_name=schema)


def _lead(
    group: _Group, database: str, done: Callable[[list[Outcome]], None], workers: int
) -> list[tuple[_Group, str]]:
    """Migrate the group's first schemas one by one, recording the SQL, until one succeeds; return the rest as jobs.
    After three failed leaders the rest run Django's executor each, in parallel."""
    conn = connections[database]
    pending = list(group.schemas)
    failures = 0
    while pending and failures < 3:
        schema = pending.pop(0)
        sink: list[str] = []
        t0 = time.monotonic()
        try:
            before = _recorded(schema, database)
            group.post_state = _apply_with_executor(conn, group, schema, record=sink)
            group.new_rows = sorted(_recorded(schema, database) - before)
            group.replay_sql = sink
            done([Outcome(schema, "migrated", seconds=time.monotonic() - t0)])
            schema_migrated.send(run_migrations, schema_name=schema)
            return [(group, s) for s in pending]
        except Exception as exc:  # noqa: BLE001  (reported in the summary; the other schemas carry on)
            failures += 1
            done([Outcome(schema, "failed", _error_text(exc), time.monotonic() - t0)])
    group.replay = False
    return [(group, s) for s in pending]


def _run_parallel(
    jobs: list[tuple[_Group, str]], database: str, workers: int, done: Callable[[list[Outcome]], None]
) -> None:
    work: queue.Queue[tuple[_Group, str] | None] = queue.Queue()
    for job in jobs:
        work.put(job)
    for _ in range(workers):
        work.put(None)

    def run(conn: Any, group: _Group, schema: str) -> None:
        t0 = time.monotonic()
        try:
            if group.replay:
                _replay_into(conn, group, schema)
                if group.post_state is not None:
                    with conn.schema_session():
                        conn.set_schema(schema)
                        try:
                            emit_post_migrate_signal(0, False, conn.alias, apps=group.post_state.apps, plan=group.plan)
                        finally:
                            conn.set_schema_to_public()
            else:
                _apply_with_executor(conn, group, schema)
            schema_migrated.send(run_migrations, schema_name=schema)
            done([Outcome(schema, "migrated", seconds=time.monotonic() - t0)])
        except Exception as exc:  # noqa: BLE001  (reported in the summary; the other schemas carry on)
            done([Outcome(schema, "failed", _error_text(exc), time.monotonic() - t0)])

    if workers == 1:  # in this thread, on this connection (and inside the caller's transaction, if any)
        while (item := work.get()) is not None:
            run(connections[database], *item)
        return

    def worker() -> None:
        conn = connections[database]
        try:
            while (job := work.get()) is not None:
                run(conn, *job)
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, name=f"migrate-{i}", daemon=True) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _ordered(schemas: list[str], database: str) -> list[str]:
    """The template first (it leads its group), then spares, then workspaces, otherwise in the given order."""

    statuses = dict(Tenant.objects.using(database).filter(schema_name__in=schemas).values_list("schema_name", "status"))
    rank = {TenantStatus.TEMPLATE: 0, TenantStatus.SPARE: 1}
    return sorted(dict.fromkeys(schemas), key=lambda s: rank.get(statuses.get(s, ""), 2))


def _summary(report: Report, stdout: TextIO) -> None:
    rate = report.total / report.seconds if report.seconds > 0 else 0.0
    stdout.write(
        f"Migrated {report.count('migrated')} schema(s), {report.count('current')} already up to date, "
        f"{len(report.failed)} failed; {report.total} in {report.seconds:.1f}s ({rate:.0f}/s, "
        f"{report.groups} migration state(s)).\n"
    )
    for outcome in report.failed:
        stdout.write(f"  FAILED {outcome.schema}: {outcome.error}\n")
    stdout.flush()
