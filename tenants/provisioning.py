"""Provisioning engine: the template schema, its DDL snapshot, the fast path and the warm pool (DESIGN §4).

A new tenant's schema comes from one of three places, fastest first:

1. **The warm pool.** A spare tenant (status `spare`, no domain, fully migrated) is locked with
   `SELECT … FOR UPDATE SKIP LOCKED` and turned into the new tenant inside the signup's transaction.
2. **The fast path.** The template schema (`TENANT_TEMPLATE_SCHEMA`, a Tenant row with status `template`, so
   `migrate_schemas` migrates it with everyone) is described once per migration state from the catalogs: tables,
   columns, identity/sequences, constraints, indexes, comments, its seed rows (`django_migrations` — contenttypes and
   auth live in the public schema only) and sequence positions. That snapshot is replayed into a new schema in one
   round trip. Same-schema names are written unqualified and resolved against the new schema; references to public
   tables stay `public.…`.
3. **Migrations** (django-tenants' own path), when the template is missing, behind the code, or holds an object kind
   the snapshot does not copy.

Everything runs inside the caller's transaction: PostgreSQL DDL is transactional, so a failure anywhere leaves no
schema, no row, and (for a claim) the spare untouched.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone
from django_tenants.utils import schema_context

from shared_apps.core.sql import literal, quote
from tenants.db import connection
from tenants.errors import TenantError
from tenants.models import PUBLIC_SCHEMA, Tenant, TenantStatus, new_schema_name

logger = logging.getLogger(__name__)

_TEMPLATE_LOCK = 0x61747269_0001  # pg_advisory_xact_lock keys ("atri" + n)
_POOL_FILL_LOCK = 0x61747269_0002


class Via(enum.StrEnum):
    """How a tenant's schema came to be."""

    POOL = "pool"
    FAST = "fast"
    MIGRATIONS = "migrations"


class Method(enum.StrEnum):
    """What the caller asks for. AUTO: pool, then fast path, then migrations."""

    AUTO = "auto"
    POOL = "pool"
    FAST = "fast"
    MIGRATIONS = "migrations"


class FastPathUnavailable(Exception):
    """The template cannot be copied right now (missing, behind the code, or holding unsupported objects)."""


class PoolEmpty(TenantError):
    pass


def template_schema() -> str:
    return str(settings.TENANT_TEMPLATE_SCHEMA)


# ---------------------------------------------------------------------------------------------------------------------
# Migration state of a schema
# ---------------------------------------------------------------------------------------------------------------------


def applied_migrations(schema: str) -> set[tuple[str, str]] | None:
    """The (app, name) rows of a schema's django_migrations, or None when it has no such table."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [f"{quote(schema)}.django_migrations"])
        if not cursor.fetchone()[0]:
            return None
        cursor.execute(f"SELECT app, name FROM {quote(schema)}.django_migrations")  # noqa: S608
        return {(app, name) for app, name in cursor.fetchall()}


def fingerprint_of(applied: set[tuple[str, str]]) -> str:
    return hashlib.sha256(",".join(sorted(f"{a}.{n}" for a, n in applied)).encode()).hexdigest()[:32]


# The digest of a django_migrations table, computed by the server; equal to `fingerprint_of` of its rows.
FINGERPRINT_SQL = (
    "SELECT left(encode(sha256(convert_to(coalesce(string_agg(app || '.' || name, ','"
    " ORDER BY (app || '.' || name) COLLATE \"C\"), ''), 'UTF8')), 'hex'), 32) FROM {table}"
)


def migrations_fingerprint(schema: str) -> str | None:
    """A digest of the schema's applied migrations (one short query), None when it has no django_migrations."""
    table = f"{quote(schema)}.django_migrations"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT CASE WHEN to_regclass(%s) IS NULL THEN NULL ELSE ({FINGERPRINT_SQL.format(table=table)}) END",
            [table],
        )
        row = cursor.fetchone()
    return row[0] if row else None


class _Graph:
    """The code's migration graph, loaded once per process: is a set of applied migrations up to date?"""

    _lock = threading.Lock()
    _loader: MigrationLoader | None = None
    _verdicts: dict[str, bool] = {}

    @classmethod
    def loader(cls) -> MigrationLoader:
        with cls._lock:
            if cls._loader is None:
                cls._loader = MigrationLoader(None, ignore_no_migrations=True)
            return cls._loader

    @classmethod
    def known_verdict(cls, fingerprint: str) -> bool | None:
        return cls._verdicts.get(fingerprint)

    @classmethod
    def is_current(cls, applied: set[tuple[str, str]] | frozenset[tuple[str, str]], fingerprint: str = "") -> bool:
        key = fingerprint or fingerprint_of(set(applied))
        verdict = cls._verdicts.get(key)
        if verdict is None:
            loader = cls.loader()
            graph = loader.graph
            needed: set[tuple[str, str]] = set()
            for leaf in graph.leaf_nodes():
                needed.update(graph.forwards_plan(leaf))
            verdict = True
            for node in needed:
                if node in applied:
                    continue
                replacing = loader.replacements.get(node)
                if replacing is not None and all(tuple(r) in applied for r in replacing.replaces):
                    continue
                verdict = False
                break
            cls._verdicts[key] = verdict
        return verdict

    @classmethod
    def reset(cls) -> None:
        with cls._lock:
            cls._loader = None
            cls._verdicts.clear()


def schema_is_current(schema: str) -> bool:
    """Whether the schema has every migration the code knows (one short query once the verdict is known)."""
    fingerprint = migrations_fingerprint(schema)
    if fingerprint is None:
        return False
    verdict = _Graph.known_verdict(fingerprint)
    if verdict is None:
        applied = applied_migrations(schema) or set()
        verdict = _Graph.is_current(applied, fingerprint_of(applied))
    return verdict


# ---------------------------------------------------------------------------------------------------------------------
# The template
# ---------------------------------------------------------------------------------------------------------------------


def template_get() -> Tenant | None:
    return Tenant.objects.filter(status=TenantStatus.TEMPLATE).first()


def template_ensure(*, verbosity: int = 0) -> Tenant:
    """The template tenant, created (by running migrations, once) if there is none. Idempotent and race-safe."""
    with schema_context(PUBLIC_SCHEMA):
        template = template_get()
        if template is not None:
            return template
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_TEMPLATE_LOCK])
            template = template_get()
            if template is None:
                template = Tenant(
                    schema_name=template_schema(),
                    name="Template",
                    status=TenantStatus.TEMPLATE,
                    status_changed_at=timezone.now(),
                )
                template.save(verbosity=verbosity)  # auto_create_schema: django-tenants runs every migration once
                connection.set_schema_to_public()
                logger.info("template schema created", extra={"tenant": template.schema_name})
        return template


# ---------------------------------------------------------------------------------------------------------------------
# Snapshot: the template's DDL, seed rows and sequence positions, keyed by its applied migrations
# ---------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    fingerprint: str
    applied: frozenset[tuple[str, str]]
    body: str  # statements for `search_path = <new schema>`; same-schema names unqualified
    tables: int


_snapshots: dict[str, Snapshot] = {}
_snapshots_lock = threading.Lock()

_UNSUPPORTED_SQL = """
SELECT 'relation ' || relname || ' (relkind ' || relkind::text || ')' FROM pg_class
 WHERE relnamespace = %(nsp)s AND relkind NOT IN ('r', 'S', 'i')
UNION ALL SELECT 'table ' || relname || ' has row level security' FROM pg_class
 WHERE relnamespace = %(nsp)s AND relkind = 'r' AND (relrowsecurity OR relforcerowsecurity)
UNION ALL SELECT 'function ' || proname FROM pg_proc WHERE pronamespace = %(nsp)s
UNION ALL SELECT 'type ' || t.typname FROM pg_type t WHERE t.typnamespace = %(nsp)s AND t.typrelid = 0
 AND NOT EXISTS (SELECT 1 FROM pg_type e WHERE e.oid = t.typelem AND e.typrelid <> 0)
UNION ALL SELECT 'trigger ' || tgname FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid
 WHERE c.relnamespace = %(nsp)s AND NOT g.tgisinternal
UNION ALL SELECT 'rule ' || rulename FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class
 WHERE c.relnamespace = %(nsp)s
UNION ALL SELECT 'policy ' || polname FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
 WHERE c.relnamespace = %(nsp)s
UNION ALL SELECT 'inheritance of ' || c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
 WHERE c.relnamespace = %(nsp)s
UNION ALL SELECT 'statistics ' || stxname FROM pg_statistic_ext WHERE stxnamespace = %(nsp)s
"""

_TABLES_SQL = """
SELECT c.oid, quote_ident(c.relname), c.relpersistence, array_to_string(c.reloptions, ', '),
       quote_literal(obj_description(c.oid, 'pg_class'))
  FROM pg_class c WHERE c.relnamespace = %(nsp)s AND c.relkind = 'r' ORDER BY c.oid
"""

_COLUMNS_SQL = """
SELECT a.attrelid, quote_ident(a.attname), format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated,
       (SELECT quote_ident(n.nspname) || '.' || quote_ident(co.collname) FROM pg_collation co
          JOIN pg_namespace n ON n.oid = co.collnamespace
         WHERE co.oid = a.attcollation AND a.attcollation <> t.typcollation),
       quote_literal(col_description(a.attrelid, a.attnum)),
       (SELECT quote_ident(nn.conname) FROM pg_constraint nn
         WHERE nn.conrelid = a.attrelid AND nn.contype = 'n' AND nn.conkey[1] = a.attnum)
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid
  JOIN pg_type t ON t.oid = a.atttypid
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE c.relnamespace = %(nsp)s AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY a.attrelid, a.attnum
"""

_SEQUENCES_SQL = """
SELECT s.oid, quote_ident(s.relname), format_type(q.seqtypid, NULL), q.seqstart, q.seqincrement, q.seqmin,
       q.seqmax, q.seqcache, q.seqcycle, d.deptype, d.refobjid, quote_ident(a.attname), s.relpersistence,
       pg_sequence_last_value(s.oid)
  FROM pg_class s
  JOIN pg_sequence q ON q.seqrelid = s.oid
  LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.oid
       AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('i', 'a')
  LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
 WHERE s.relnamespace = %(nsp)s AND s.relkind = 'S'
 ORDER BY s.oid
"""

_CONSTRAINTS_SQL = """
SELECT conrelid, quote_ident(conname), contype, pg_get_constraintdef(oid)
  FROM pg_constraint
 WHERE connamespace = %(nsp)s AND conrelid <> 0 AND contype IN ('p', 'u', 'x', 'c', 'f')
 ORDER BY CASE contype WHEN 'p' THEN 0 WHEN 'u' THEN 1 WHEN 'x' THEN 2 WHEN 'c' THEN 3 ELSE 4 END, conrelid, conname
"""

_INDEXES_SQL = """
SELECT i.indrelid, pg_get_indexdef(i.indexrelid), quote_ident(%(schema)s) || '.' || quote_ident(t.relname),
       quote_ident(t.relname), quote_literal(obj_description(i.indexrelid, 'pg_class')), quote_ident(ic.relname)
  FROM pg_index i
  JOIN pg_class ic ON ic.oid = i.indexrelid
  JOIN pg_class t ON t.oid = i.indrelid
 WHERE ic.relnamespace = %(nsp)s
   AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = i.indrelid
                   AND k.contype IN ('p', 'u', 'x'))
 ORDER BY i.indexrelid
"""


def _capture(schema: str) -> Snapshot:
    """Describe `schema` from the catalogs as statements that rebuild it under another name.

    Runs with `search_path` set to the schema alone (transaction-local), so that the server's own deparsers
    (`pg_get_constraintdef`, `pg_get_expr`, `format_type`) write same-schema names unqualified and public ones
    qualified. No lock is taken (a signup must not queue behind a template migration, nor the other way round):
    the recorded migrations are read first and again last, and a migration commits its DDL and its row together,
    so equal reads mean no migration committed in between and the catalogs read are the state those rows describe.
    """
    q = quote(schema)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SELECT app, name FROM {q}.django_migrations")  # noqa: S608
        applied = {(a, n) for a, n in cursor.fetchall()}
        cursor.execute(
            "SELECT set_config('atrium.search_path_before', current_setting('search_path'), true),"
            " set_config('search_path', %s, true)",
            [q],
        )
        cursor.execute("SELECT oid FROM pg_namespace WHERE nspname = %s", [schema])
        nsp = cursor.fetchone()[0]
        p = {"nsp": nsp, "schema": schema}
        cursor.execute(_UNSUPPORTED_SQL, p)
        unsupported = [row[0] for row in cursor.fetchall()]
        if unsupported:
            raise FastPathUnavailable(
                f"the template holds objects the fast path does not copy: {', '.join(unsupported[:5])}"
            )
        cursor.execute(_TABLES_SQL, p)
        tables = cursor.fetchall()
        cursor.execute(_COLUMNS_SQL, p)
        columns = cursor.fetchall()
        cursor.execute(_SEQUENCES_SQL, p)
        sequences = cursor.fetchall()
        cursor.execute(_CONSTRAINTS_SQL, p)
        constraints = cursor.fetchall()
        cursor.execute(_INDEXES_SQL, p)
        indexes = cursor.fetchall()
        seed = _seed_rows(cursor, q, tables, columns)
        owned_max = _owned_sequence_positions(cursor, q, tables, sequences)
        cursor.execute("SELECT set_config('search_path', current_setting('atrium.search_path_before'), true)")
        cursor.execute(f"SELECT app, name FROM {q}.django_migrations")  # noqa: S608
        if {(a, n) for a, n in cursor.fetchall()} != applied:
            raise FastPathUnavailable("the template was migrated during the capture")
    body = _render(tables, columns, sequences, constraints, indexes, seed, owned_max)
    return Snapshot(fingerprint=fingerprint_of(applied), applied=frozenset(applied), body=body, tables=len(tables))


def _seed_rows(cursor: Any, q: str, tables: list[Any], columns: list[Any]) -> list[str]:
    """INSERT statements for every non-empty table of the template (its django_migrations rows, typically)."""
    if not tables:
        return []
    cursor.execute(
        " UNION ALL ".join(
            f"SELECT {oid}::oid, EXISTS (SELECT 1 FROM {q}.{name})"  # noqa: S608
            for oid, name, *_ in tables
        )
    )
    non_empty = {oid for oid, has_rows in cursor.fetchall() if has_rows}
    statements = []
    for oid, name, *_ in tables:
        if oid not in non_empty:
            continue
        insertable = [col[1] for col in columns if col[0] == oid and not col[6]]
        cols = ", ".join(insertable)
        cursor.execute(f"SELECT quote_literal(json_agg(t)::text) FROM {q}.{name} t")  # noqa: S608
        payload = cursor.fetchone()[0]
        statements.append(  # names and payload quoted by the server (quote_ident, quote_literal)
            f"INSERT INTO {name} ({cols}) OVERRIDING SYSTEM VALUE"  # noqa: S608
            f" SELECT {cols} FROM json_populate_recordset(NULL::{name}, {payload})"
        )
    return statements


def _owned_sequence_positions(cursor: Any, q: str, tables: list[Any], sequences: list[Any]) -> dict[int, int | None]:
    """For sequences owned by a column (identity, serial): the column's largest value in the template's rows.

    That, not the sequence's own position, is what a freshly migrated schema has: nextval() is not transactional,
    so anything once inserted into the template and rolled back (a failed migration, a test) has moved the template's
    sequences without leaving a row.
    """
    table_names = {oid: name for oid, name, *_ in tables}
    owned = [(seq[0], seq[10], seq[11]) for seq in sequences if seq[9] in ("i", "a") and seq[10] in table_names]
    if not owned:
        return {}
    cursor.execute(
        " UNION ALL ".join(
            f"SELECT {oid}::oid, max({column})::numeric FROM {q}.{table_names[rel]}"  # noqa: S608  (quoted names)
            for oid, rel, column in owned
        )
    )
    return {oid: (int(value) if value is not None else None) for oid, value in cursor.fetchall()}


def _render(
    tables: list[Any],
    columns: list[Any],
    sequences: list[Any],
    constraints: list[Any],
    indexes: list[Any],
    seed: list[str],
    owned_max: dict[int, int | None],
) -> str:
    table_names = {oid: name for oid, name, *_ in tables}
    identity: dict[tuple[int, str], Any] = {}
    out: list[str] = []
    owned: list[str] = []
    positions: list[str] = []
    for seq in sequences:
        (oid, name, typ, start, inc, mn, mx, cache, cycle, deptype, refobjid, attname, persistence, last) = seq
        if oid in owned_max:
            last = owned_max[oid]
        options = (
            f"INCREMENT BY {inc} MINVALUE {mn} MAXVALUE {mx} START WITH {start} CACHE {cache}"
            f" {'CYCLE' if cycle else 'NO CYCLE'}"
        )
        if deptype == "i":  # the column's type is the sequence's
            identity[(refobjid, attname)] = f"SEQUENCE NAME {name} {options}"
        else:
            unlogged = "UNLOGGED " if persistence == "u" else ""
            out.append(f"CREATE {unlogged}SEQUENCE {name} AS {typ} {options}")
            if deptype == "a":
                owned.append(f"ALTER SEQUENCE {name} OWNED BY {table_names[refobjid]}.{attname}")
        if last is not None:
            positions.append(f"SELECT setval({literal(name)}, {last}, true)")
    comments: list[str] = []
    for oid, name, persistence, reloptions, comment in tables:
        defs = []
        for col in columns:
            if col[0] != oid:
                continue
            _rel, attname, typ, notnull, default, ident, generated, collation, col_comment, nn_name = col
            parts = [attname, typ]
            if collation:
                parts.append(f"COLLATE {collation}")
            if generated == "s":
                parts.append(f"GENERATED ALWAYS AS ({default}) STORED")
            elif default is not None:
                parts.append(f"DEFAULT {default}")
            if notnull:
                parts.append(f"CONSTRAINT {nn_name} NOT NULL" if nn_name else "NOT NULL")
            if ident:
                kind = "ALWAYS" if ident == "a" else "BY DEFAULT"
                parts.append(f"GENERATED {kind} AS IDENTITY ({identity[(oid, attname)]})")
            defs.append(" ".join(parts))
            if col_comment:
                comments.append(f"COMMENT ON COLUMN {name}.{attname} IS {col_comment}")
        unlogged = "UNLOGGED " if persistence == "u" else ""
        with_options = f" WITH ({reloptions})" if reloptions else ""
        out.append(f"CREATE {unlogged}TABLE {name} ({', '.join(defs)}){with_options}")
        if comment:
            comments.append(f"COMMENT ON TABLE {name} IS {comment}")
    out.extend(owned)
    foreign_keys: list[str] = []
    for conrelid, conname, contype, definition in constraints:
        statement = f"ALTER TABLE {table_names[conrelid]} ADD CONSTRAINT {conname} {definition}"
        (foreign_keys if contype == "f" else out).append(statement)
    out.extend(seed)  # before the foreign keys: seed rows may reference each other in any order
    out.extend(foreign_keys)
    for _indrelid, definition, qualified, bare, index_comment, index_name in indexes:
        rewritten = definition.replace(f" ON {qualified} ", f" ON {bare} ", 1).replace(
            f" ON ONLY {qualified} ", f" ON ONLY {bare} ", 1
        )
        if rewritten == definition and f" ON {bare} " not in definition:
            raise FastPathUnavailable(f"cannot rewrite the index definition {definition!r}")
        out.append(rewritten)
        if index_comment:
            comments.append(f"COMMENT ON INDEX {index_name} IS {index_comment}")
    out.extend(comments)
    out.extend(positions)
    return ";\n".join(out) + ";\n"


def snapshot_for_template() -> Snapshot:
    """The template's snapshot for its current migration state, captured once per state and process.

    Raises FastPathUnavailable when there is no template or it is behind the code (never copy a stale template:
    django-tenants #1154).
    """
    schema = template_schema()
    fingerprint = migrations_fingerprint(schema)
    if fingerprint is None:
        raise FastPathUnavailable("there is no template schema yet")
    snapshot = _snapshots.get(fingerprint)
    if snapshot is None:
        snapshot = _capture(schema)
        if snapshot.fingerprint != fingerprint:  # migrated since the first read: capture again next time
            raise FastPathUnavailable("the template was migrated during the capture")
        with _snapshots_lock:
            _snapshots[fingerprint] = snapshot
    if not _Graph.is_current(snapshot.applied, snapshot.fingerprint):
        raise FastPathUnavailable("the template is behind the code's migrations (run migrate_schemas)")
    return snapshot


def snapshots_clear() -> None:
    with _snapshots_lock:
        _snapshots.clear()
    _Graph.reset()


def replay_sql(schema: str, snapshot: Snapshot) -> str:
    """One script: create `schema` and rebuild the template in it. search_path is changed transaction-locally
    and restored at the end, so the connection's own idea of its search_path stays true."""
    q = quote(schema)
    return (
        "SELECT set_config('atrium.search_path_before', current_setting('search_path'), true);\n"
        f"CREATE SCHEMA {q};\n"
        f"SELECT set_config('search_path', {literal(q)}, true);\n"
        f"{snapshot.body}"
        "SELECT set_config('search_path', current_setting('atrium.search_path_before'), true);\n"
    )


def schema_create_from_template(schema: str, snapshot: Snapshot | None = None) -> Snapshot:
    """Create `schema` as a copy of the template in one round trip. Call inside a transaction."""
    snapshot = snapshot or snapshot_for_template()
    with connection.cursor() as cursor:
        cursor.execute(replay_sql(schema, snapshot))
    return snapshot


# ---------------------------------------------------------------------------------------------------------------------
# Tenant rows with schemas
# ---------------------------------------------------------------------------------------------------------------------


def tenant_with_schema(*, name: str, status: str, method: Method = Method.AUTO) -> tuple[Tenant, Via]:
    """A new Tenant row and its schema, by the fast path (or migrations when it is unavailable or asked for).

    Call in the public schema, inside a transaction: the row and the schema commit or vanish together.
    """
    now = timezone.now()
    tenant = Tenant(schema_name=new_schema_name(), name=name, status=status, status_changed_at=now)
    if method == Method.MIGRATIONS:
        tenant.save(verbosity=0)  # django-tenants: CREATE SCHEMA, then every migration
        connection.set_schema_to_public()
        return tenant, Via.MIGRATIONS
    try:
        snapshot = snapshot_for_template()
    except FastPathUnavailable as exc:
        if method == Method.FAST:
            raise
        logger.warning("fast path unavailable, running migrations: %s", exc)
        tenant.save(verbosity=0)
        connection.set_schema_to_public()
        return tenant, Via.MIGRATIONS
    tenant.auto_create_schema = False  # this instance only: the schema comes from the template
    tenant.save()
    schema_create_from_template(tenant.schema_name, snapshot)
    return tenant, Via.FAST


def pool_claim(*, name: str) -> Tenant | None:
    """Lock a current spare and turn it into an active tenant called `name`; None when the pool has none.

    Call inside the signup's transaction: a rollback gives the spare back untouched.
    """
    spare = Tenant.objects.select_for_update(skip_locked=True).filter(status=TenantStatus.SPARE).order_by("id").first()
    if spare is None:
        return None
    if not schema_is_current(spare.schema_name):
        # Left for migrate_schemas (spares are migrated with everyone); meanwhile this signup takes the fast path.
        logger.warning("skipping a spare that is behind the code", extra={"tenant": spare.schema_name})
        return None
    now = timezone.now()
    changes = {
        "name": name,
        "status": TenantStatus.ACTIVE,
        "status_changed_at": now,
        "created_at": now,
        "updated_at": now,
    }
    Tenant.objects.filter(pk=spare.pk).update(**changes)
    for field, value in changes.items():
        setattr(spare, field, value)
    return spare


def provision(*, name: str, method: Method = Method.AUTO) -> tuple[Tenant, Via]:
    """An active tenant row with a ready schema (no domain yet), by the method asked for. Call inside a transaction,
    before it writes to the public tables tenant schemas reference (see `tenant_create`).

    AUTO claims a spare unless the pool is disabled (TENANT_POOL_SIZE = 0), then takes the fast path, then migrations.
    """
    if method == Method.POOL or (method == Method.AUTO and settings.TENANT_POOL_SIZE > 0):
        claimed = pool_claim(name=name)
        if claimed is not None:
            return claimed, Via.POOL
        if method == Method.POOL:
            raise PoolEmpty("The warm pool has no spare workspace.")
    return tenant_with_schema(name=name, status=TenantStatus.ACTIVE, method=method)


# ---------------------------------------------------------------------------------------------------------------------
# The warm pool
# ---------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PoolStatus:
    target: int
    spares: int
    current: int
    stale: list[str]
    template: str | None
    template_current: bool

    @property
    def missing(self) -> int:
        return max(0, self.target - self.current)


def pool_status() -> PoolStatus:
    schemas = list(Tenant.objects.filter(status=TenantStatus.SPARE).values_list("schema_name", flat=True))
    stale = [s for s in schemas if not schema_is_current(s)]
    template = template_get()
    template_current = template is not None and schema_is_current(template.schema_name)
    return PoolStatus(
        target=settings.TENANT_POOL_SIZE,
        spares=len(schemas),
        current=len(schemas) - len(stale),
        stale=stale,
        template=template.schema_name if template else None,
        template_current=template_current,
    )


@dataclass(frozen=True)
class PoolFillResult:
    created: int
    failed: int
    spares: int
    skipped: bool = False  # another process was filling


def spare_create() -> Tenant:
    """One spare tenant, committed on its own."""
    with schema_context(PUBLIC_SCHEMA), transaction.atomic():
        tenant, _via = tenant_with_schema(name="Spare", status=TenantStatus.SPARE)
    logger.info("spare tenant created", extra={"tenant": tenant.schema_name})
    return tenant


def pool_fill(*, size: int | None = None, progress: Callable[[int, int], None] | None = None) -> PoolFillResult:
    """Create spares until the pool holds `size` (default TENANT_POOL_SIZE). One filler at a time."""
    target = settings.TENANT_POOL_SIZE if size is None else size
    with schema_context(PUBLIC_SCHEMA):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [_POOL_FILL_LOCK])
            if not cursor.fetchone()[0]:
                spares = Tenant.objects.filter(status=TenantStatus.SPARE).count()
                return PoolFillResult(created=0, failed=0, spares=spares, skipped=True)
        try:
            if target > 0:
                template_ensure()
            missing = max(0, target - Tenant.objects.filter(status=TenantStatus.SPARE).count())
            created = failed = 0
            for i in range(missing):
                try:
                    spare_create()
                    created += 1
                except Exception:
                    failed += 1
                    logger.exception("could not create a spare tenant")
                    if failed >= 3:
                        break
                if progress:
                    progress(i + 1, missing)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [_POOL_FILL_LOCK])
        spares = Tenant.objects.filter(status=TenantStatus.SPARE).count()
    return PoolFillResult(created=created, failed=failed, spares=spares)
