"""The template schema and the fast path.

The template (`TENANT_TEMPLATE_SCHEMA`) is a Tenant row with status `template`, so `migrate_schemas` migrates it with
everyone. Its catalog snapshot is captured once per migration state and process, and a new schema is made by
replaying it statement by statement in one round trip (psycopg's pipeline mode: Citus refuses multi-statement
strings when it forwards DDL to a worker). A template that is missing, behind the code's migrations, or holding
objects the snapshot does not copy is never copied: `tenant_with_schema` then runs the migrations instead
(django-tenants' path).
"""

from __future__ import annotations

import enum
import logging
import threading

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from shared_apps.core.sql import execute_pipelined
from tenants.db import connection
from tenants.models import PUBLIC_SCHEMA, Tenant, TenantStatus, new_schema_name
from tenants.provisioning.catalog import FastPathUnavailable, Snapshot, capture, replay_statements
from tenants.provisioning.migration_state import _Graph, migrations_fingerprint

# The whole package logs as `tenants.provisioning`.
logger = logging.getLogger("tenants.provisioning")

# pg_advisory_xact_lock keys are "atri" + n; the pool filler's (n = 2) is in pool.py.
_TEMPLATE_LOCK = 0x61747269_0001


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


def template_schema() -> str:
    return str(settings.TENANT_TEMPLATE_SCHEMA)


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


_snapshots: dict[str, Snapshot] = {}
_snapshots_lock = threading.Lock()


def snapshot_for_template() -> Snapshot:
    """The template's snapshot for its current migration state, captured once per state and process.

    Raises FastPathUnavailable when there is no template or it is behind the code: a copy of a stale template would
    start the new tenant behind the code that serves it.
    """
    schema = template_schema()
    fingerprint = migrations_fingerprint(schema)
    if fingerprint is None:
        raise FastPathUnavailable("there is no template schema yet")
    snapshot = _snapshots.get(fingerprint)
    if snapshot is None:
        snapshot = capture(schema)
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


def schema_create_from_template(schema: str, snapshot: Snapshot | None = None) -> Snapshot:
    """Create `schema` as a copy of the template: one statement per message, one round trip. Call inside a
    transaction."""
    snapshot = snapshot or snapshot_for_template()
    execute_pipelined(connection, replay_statements(schema, snapshot))
    return snapshot


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
