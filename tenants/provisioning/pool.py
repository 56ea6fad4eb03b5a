"""The warm pool: spare tenants (status `spare`, no domain, fully migrated) made ahead of signups.

A signup claims one with `SELECT … FOR UPDATE SKIP LOCKED` and turns it into the new tenant inside its own
transaction: concurrent signups never wait for each other's spare, and a rollback gives the spare back untouched.
`pool_fill` tops the pool up to `TENANT_POOL_SIZE`, one filler at a time, each spare made by `tenant_with_schema`
(the fast path, or migrations when it is unavailable) and committed on its own.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from tenants.db import advisory_lock, connection, table_sql
from tenants.errors import TenantError
from tenants.models import PUBLIC_SCHEMA, Tenant, TenantStatus
from tenants.provisioning.migration_state import _Graph, migrations_fingerprint, schema_is_current
from tenants.provisioning.template import template_ensure, template_get, tenant_with_schema

# The whole package logs as `tenants.provisioning`.
logger = logging.getLogger("tenants.provisioning")

# pg_advisory_lock keys are "atri" + n; the template's (n = 1) is in template.py.
_POOL_FILL_LOCK = 0x61747269_0002


class PoolEmpty(TenantError):
    pass


# Spares behind the code a claim passes over before it gives up (and the signup takes the fast path).
CLAIM_PASSES_OVER = 5


# The claim, one statement: the oldest spare nobody holds is locked and becomes the new tenant; it returns the row as
# it is now, and the fields the claim changed as they were (to give back a spare that turns out behind the code).
_CLAIMED = ("name", "status", "status_changed_at", "created_at", "updated_at")
_CLAIM_SQL = (
    "WITH spare AS (SELECT id, {old} FROM {table} WHERE status = %s AND NOT (id = ANY(%s)) ORDER BY id LIMIT 1"
    " FOR UPDATE SKIP LOCKED)"
    " UPDATE {table} AS claimed SET {changes} FROM spare WHERE claimed.id = spare.id"
    " RETURNING {columns}, {old_values}"
)


@functools.cache
def _claim_sql() -> tuple[str, list[str], str]:
    """The claim's SQL, the attribute names of the columns it returns (the row's), and the give-back statement."""
    meta = Tenant._meta
    table = table_sql(Tenant)
    fields = list(meta.concrete_fields)
    changes = ", ".join(f'"{f}" = %s' for f in _CLAIMED)
    sql = _CLAIM_SQL.format(
        table=table,
        old=", ".join(f'"{f}"' for f in _CLAIMED),
        changes=changes,
        columns=", ".join(f'claimed."{f.column}"' for f in fields),
        old_values=", ".join(f'spare."{f}"' for f in _CLAIMED),
    )
    give_back = f"UPDATE {table} SET {changes} WHERE id = %s"  # noqa: S608  (names from the model)
    return sql, [f.attname for f in fields], give_back


def pool_claim(*, name: str) -> Tenant | None:
    """Lock a current spare and turn it into an active tenant called `name`; None when the pool has none.

    One statement claims the oldest spare no other transaction holds (`FOR UPDATE SKIP LOCKED`: concurrent signups
    never wait for each other). Whether its schema has every migration the code knows is answered by the migration
    state recorded when it was made, when this process knows that state to be current; else by its django_migrations
    (one more query: the first claim of a process, or a spare made before a deploy and perhaps migrated since). Spares
    are migrated forwards only, so a state recorded as current stays current. A spare behind the code (left for
    migrate_schemas) is given back as it was, stays locked until this transaction ends so other claims pass over it
    too, and the next one is tried. Call inside the signup's transaction: a rollback gives the spare back untouched.
    """
    sql, attnames, give_back = _claim_sql()
    behind: list[int] = []
    while len(behind) < CLAIM_PASSES_OVER:
        now = timezone.now()
        with connection.cursor() as cursor:
            cursor.execute(sql, [TenantStatus.SPARE, behind, name, TenantStatus.ACTIVE, now, now, now])
            row = cursor.fetchone()
        if row is None:
            return None  # this signup takes the fast path
        spare = Tenant.from_db(connection.alias, attnames, row[: len(attnames)])
        if _Graph.known_verdict(spare.migrations_fingerprint) or schema_is_current(spare.schema_name):
            return spare
        logger.warning("skipping a spare that is behind the code", extra={"tenant": spare.schema_name})
        with connection.cursor() as cursor:
            cursor.execute(give_back, [*row[len(attnames) :], spare.pk])
        behind.append(spare.pk)
    return None


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


# The catalog rows of a schema's relations, read through the heap (not the index alone): every page holding one is
# visited, and pruned of the versions the schema's DDL left dead.
_SETTLE_SQL = (
    "SELECT sum(c.relpages) FROM pg_catalog.pg_class c WHERE c.oid IN (SELECT d.objid FROM pg_catalog.pg_depend d"
    " WHERE d.refclassid = 'pg_catalog.pg_namespace'::regclass AND d.refobjid = %s::regnamespace"
    " AND d.classid = 'pg_catalog.pg_class'::regclass)"
)


def spare_create() -> Tenant:
    """One spare tenant with its migration state recorded, committed on its own, then settled (`_catalog_settle`)."""
    with schema_context(PUBLIC_SCHEMA), transaction.atomic():
        tenant, _via = tenant_with_schema(name="Spare", status=TenantStatus.SPARE)
        tenant.migrations_fingerprint = migrations_fingerprint(tenant.schema_name) or ""
        Tenant.objects.filter(pk=tenant.pk).update(migrations_fingerprint=tenant.migrations_fingerprint)
    _catalog_settle(tenant.schema_name)
    logger.info("spare tenant created", extra={"tenant": tenant.schema_name})
    return tenant


def _catalog_settle(schema: str) -> None:
    """Making a schema rewrites catalog rows (each index, constraint and trigger updates its table's `pg_class` row)
    and leaves the old versions dead on their pages. The first reader of such a page prunes it, and after a
    checkpoint writes it whole to the WAL: read here, once the spare is committed, that reader is the filler and not
    the signup that claims the spare (which reads those rows to open the tables it writes)."""
    with connection.cursor() as cursor:
        cursor.execute(_SETTLE_SQL, [schema])


def pool_fill(*, size: int | None = None, progress: Callable[[int, int], None] | None = None) -> PoolFillResult:
    """Create spares until the pool holds `size` (default TENANT_POOL_SIZE). One filler at a time."""
    target = settings.TENANT_POOL_SIZE if size is None else size
    with schema_context(PUBLIC_SCHEMA), advisory_lock(_POOL_FILL_LOCK) as taken:
        if not taken:
            spares = Tenant.objects.filter(status=TenantStatus.SPARE).count()
            return PoolFillResult(created=0, failed=0, spares=spares, skipped=True)
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
        spares = Tenant.objects.filter(status=TenantStatus.SPARE).count()
    return PoolFillResult(created=created, failed=failed, spares=spares)
