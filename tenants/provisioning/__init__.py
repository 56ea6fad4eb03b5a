"""Provisioning: where a new tenant's schema comes from, fastest first.

1. **The warm pool** (`pool`). A spare tenant (status `spare`, no domain, fully migrated) is locked with
   `SELECT … FOR UPDATE SKIP LOCKED` and turned into the new tenant inside the signup's transaction.
2. **The fast path** (`template`, `catalog`). The template schema (`TENANT_TEMPLATE_SCHEMA`, a Tenant row with status
   `template`, so `migrate_schemas` migrates it with everyone) is described once per migration state from the
   catalogs, and that snapshot is replayed into a new schema, one statement each, in one round trip.
3. **Migrations** (django-tenants' own path), when the template is missing, behind the code, or holds an object kind
   the snapshot does not copy. Whether a schema is behind the code is `migration_state`'s question.

Everything runs inside the caller's transaction: PostgreSQL DDL is transactional, so a failure anywhere leaves no
schema, no row, and (for a claim) the spare untouched.

`provision` is the entry point; the names below are the package's interface, importable from `tenants.provisioning`
whichever module defines them.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _

from shared_apps.core.sql import quote
from tenants.models import Tenant, TenantStatus
from tenants.provisioning.catalog import FastPathUnavailable, Snapshot, replay_statements
from tenants.provisioning.migration_state import (
    FINGERPRINT_SQL,
    applied_migrations,
    fingerprint_of,
    migrations_fingerprint,
    schema_is_current,
)
from tenants.provisioning.migration_state import _Graph as _Graph  # the tests reset and patch its verdicts
from tenants.provisioning.pool import (
    PoolEmpty,
    PoolFillResult,
    PoolStatus,
    pool_claim,
    pool_fill,
    pool_status,
    spare_create,
)
from tenants.provisioning.template import (
    Method,
    Via,
    schema_create_from_template,
    snapshot_for_template,
    snapshots_clear,
    template_ensure,
    template_get,
    template_schema,
    tenant_with_schema,
)

__all__ = [
    "FINGERPRINT_SQL",
    "FastPathUnavailable",
    "Method",
    "PoolEmpty",
    "PoolFillResult",
    "PoolStatus",
    "Snapshot",
    "Via",
    "applied_migrations",
    "fingerprint_of",
    "migrations_fingerprint",
    "pool_claim",
    "pool_fill",
    "pool_status",
    "provision",
    "quote",  # lives in shared_apps.core.sql; still importable from here
    "replay_statements",
    "schema_create_from_template",
    "schema_is_current",
    "snapshot_for_template",
    "snapshots_clear",
    "spare_create",
    "template_ensure",
    "template_get",
    "template_schema",
    "tenant_with_schema",
]


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
            raise PoolEmpty(_("The warm pool has no spare workspace."))
    return tenant_with_schema(name=name, status=TenantStatus.ACTIVE, method=method)
