"""The warm pool: spare tenants (status `spare`, no domain, fully migrated) made ahead of signups.

A signup claims one with `SELECT … FOR UPDATE SKIP LOCKED` and turns it into the new tenant inside its own
transaction: concurrent signups never wait for each other's spare, and a rollback gives the spare back untouched.
`pool_fill` tops the pool up to `TENANT_POOL_SIZE`, one filler at a time, each spare made by `tenant_with_schema`
(the fast path, or migrations when it is unavailable) and committed on its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from tenants.db import advisory_lock
from tenants.errors import TenantError
from tenants.models import PUBLIC_SCHEMA, Tenant, TenantStatus
from tenants.provisioning.migration_state import schema_is_current
from tenants.provisioning.template import template_ensure, template_get, tenant_with_schema

# The whole package logs as `tenants.provisioning`.
logger = logging.getLogger("tenants.provisioning")

# pg_advisory_lock keys are "atri" + n; the template's (n = 1) is in template.py.
_POOL_FILL_LOCK = 0x61747269_0002


class PoolEmpty(TenantError):
    pass


# Spares behind the code a claim passes over before it gives up (and the signup takes the fast path).
CLAIM_PASSES_OVER = 5


def pool_claim(*, name: str) -> Tenant | None:
    """Lock a current spare and turn it into an active tenant called `name`; None when the pool has none.

    Call inside the signup's transaction: a rollback gives the spare back untouched.
    """
    spares = Tenant.objects.select_for_update(skip_locked=True).filter(status=TenantStatus.SPARE).order_by("id")
    behind: list[int] = []
    while (spare := spares.exclude(pk__in=behind).first()) is not None and not schema_is_current(spare.schema_name):
        # Left for migrate_schemas (spares are migrated with everyone), locked until this transaction ends so other
        # claims pass over it too; a newer spare may be current already.
        logger.warning("skipping a spare that is behind the code", extra={"tenant": spare.schema_name})
        behind.append(spare.pk)
        if len(behind) >= CLAIM_PASSES_OVER:
            return None
    if spare is None:
        return None  # this signup takes the fast path
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
