"""Writes of the tenancy core: provisioning a tenant with its primary host, its status, its domains, dropping it.

The tenancy core knows no user, membership or audit log. These functions change Tenant and Domain rows (and
schemas) and report what they changed; the workspace layer (`shared_apps.workspaces.services`) combines them with
owners, permissions and audit entries in one transaction. Route caches are invalidated by the Tenant/Domain signals
(`tenants.signals`), after commit too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext
from django_tenants.utils import schema_context

from shared_apps.storage import purge as storage_purge
from tenants import lifecycle, provisioning, routing
from tenants.db import connection, insert_one
from tenants.errors import DomainInvalid, DomainTaken, SubdomainTaken, TenantError
from tenants.models import PUBLIC_SCHEMA, Domain, Tenant, TenantEvent, TenantStatus
from tenants.provisioning import Method, Via
from tenants.selectors import host_for_slug
from tenants.validators import host_normalise, validate_custom_domain, validate_subdomain, validate_tenant_name

logger = logging.getLogger(__name__)


def public_tenant_ensure() -> Tenant:
    """The row django-tenants expects for the public schema, with the root domain. Idempotent."""
    with schema_context(PUBLIC_SCHEMA):
        tenant, _ = Tenant.objects.get_or_create(
            schema_name=PUBLIC_SCHEMA, defaults={"name": "Atrium (platform)", "status": TenantStatus.ACTIVE}
        )
        Domain.objects.get_or_create(domain=settings.BASE_DOMAIN, defaults={"tenant": tenant, "is_primary": True})
    return tenant


def _is_domain_conflict(exc: IntegrityError) -> bool:
    diag = getattr(exc.__cause__, "diag", None)
    constraint = getattr(diag, "constraint_name", None) or ""
    return "domain" in constraint or "tenants_domain" in str(exc)


@contextmanager
def domain_conflicts_as(error: TenantError) -> Iterator[None]:
    """Wrap a transaction that inserts a Domain: losing a race on the unique host raises `error` (the loser's
    transaction, schema included, is rolled back)."""
    try:
        yield
    except IntegrityError as exc:
        if _is_domain_conflict(exc):
            raise error from exc
        raise


def tenant_provision(*, slug: str, name: str, method: Method = Method.AUTO) -> tuple[Tenant, Via]:
    """A new tenant at <slug>.<BASE_DOMAIN>: its schema and its primary Domain. Runs inside the caller's transaction
    (wrapped in `domain_conflicts_as(SubdomainTaken(...))`), so a failure later in that transaction leaves no tenant
    row, no domain and no schema — or, for a pool claim, the spare as it was.

    The schema is a claimed warm-pool spare when there is one, else a copy of the template (fast path), else made by
    migrations (`method` forces one way).
    """
    slug = validate_subdomain(slug)
    name = validate_tenant_name(name)
    host = host_for_slug(slug)
    # The schema first: creating one takes SHARE ROW EXCLUSIVE locks on the public tables its foreign keys point at
    # (accounts_user, …). Taken before the transaction writes to any of them, two concurrent creations queue on those
    # locks instead of deadlocking. A pool claim runs no DDL at all.
    tenant, via = provisioning.provision(name=name, method=method)
    # The tenant's first and only host, so one INSERT: no other primary to demote, no other route to forget (the
    # unique index on the host decides a race: `domain_conflicts_as`). What a taken subdomain costs is a rolled-back
    # claim; what a free one saves is a query on every signup.
    insert_one(Domain(domain=host, tenant=tenant, is_primary=True))
    routing.forget_new_host(host)
    return tenant, via


def pool_fill(
    *, size: int | None = None, progress: Callable[[int, int], None] | None = None
) -> provisioning.PoolFillResult:
    """Top the warm pool up to `size` spares (TENANT_POOL_SIZE by default)."""
    return provisioning.pool_fill(size=size, progress=progress)


# ---------------------------------------------------------------------------------------------------------------------
# Status: one transition table
# ---------------------------------------------------------------------------------------------------------------------


class Transition(StrEnum):
    SUSPEND = "suspend"
    RESUME = "resume"
    SCHEDULE_DELETION = "schedule_deletion"
    RESTORE = "restore"
    # Driven by the subscription (the workspace layer maps its status to one of these).
    BILLING_PAST_DUE = "billing_past_due"
    BILLING_READ_ONLY = "billing_read_only"
    BILLING_SUSPEND = "billing_suspend"
    BILLING_REACTIVATE = "billing_reactivate"


# The states billing moves a workspace between. An operator's suspension and a pending deletion are not among them:
# a payment never lifts those.
BILLING_STATES = frozenset(
    {TenantStatus.ACTIVE, TenantStatus.PAST_DUE, TenantStatus.READ_ONLY, TenantStatus.BILLING_SUSPENDED}
)
_WORKSPACE_STATES = BILLING_STATES | {TenantStatus.SUSPENDED}

# transition → (statuses it may start from, status it leads to; None: the status held before the deletion)
TRANSITIONS: dict[Transition, tuple[frozenset[str], str | None]] = {
    Transition.SUSPEND: (BILLING_STATES, TenantStatus.SUSPENDED),
    Transition.RESUME: (frozenset({TenantStatus.SUSPENDED}), TenantStatus.ACTIVE),
    Transition.SCHEDULE_DELETION: (_WORKSPACE_STATES, TenantStatus.SCHEDULED_DELETION),
    Transition.RESTORE: (frozenset({TenantStatus.SCHEDULED_DELETION}), None),
    Transition.BILLING_PAST_DUE: (frozenset({TenantStatus.ACTIVE}), TenantStatus.PAST_DUE),
    Transition.BILLING_READ_ONLY: (frozenset({TenantStatus.ACTIVE, TenantStatus.PAST_DUE}), TenantStatus.READ_ONLY),
    Transition.BILLING_SUSPEND: (
        frozenset({TenantStatus.ACTIVE, TenantStatus.PAST_DUE, TenantStatus.READ_ONLY}),
        TenantStatus.BILLING_SUSPENDED,
    ),
    Transition.BILLING_REACTIVATE: (
        frozenset({TenantStatus.PAST_DUE, TenantStatus.READ_ONLY, TenantStatus.BILLING_SUSPENDED}),
        TenantStatus.ACTIVE,
    ),
}


def _refusal(t: Tenant, transition: Transition) -> str:
    """Why `transition` cannot start from the tenant's status, in words."""
    if t.is_public or t.status in (TenantStatus.TEMPLATE, TenantStatus.SPARE):
        return f"{t.name} is not a workspace."
    if transition == Transition.SUSPEND and t.status == TenantStatus.SUSPENDED:
        return f"{t.name} is already suspended."
    if transition == Transition.SCHEDULE_DELETION and t.status == TenantStatus.SCHEDULED_DELETION:
        return f"{t.name} is already scheduled for deletion."
    if t.status == TenantStatus.SCHEDULED_DELETION:
        return f"{t.name} is scheduled for deletion; restore it first."
    if transition == Transition.RESUME:
        return f"{t.name} is not suspended (its status is {t.get_status_display().lower()})."
    if transition == Transition.RESTORE:
        return f"{t.name} is not scheduled for deletion."
    return f"{t.name} cannot be changed that way while {t.get_status_display().lower()}."


@dataclass(frozen=True)
class StatusChange:
    tenant: Tenant
    previous: str


def tenant_transition(*, tenant: Tenant, transition: Transition, reason: str = "") -> StatusChange:
    """Lock the row, check the transition against the table on what the database says now, and apply it. Runs in the
    caller's transaction (the workspace layer audits it in the same one). An operator's suspension keeps its `reason`
    on the row, for the suspension page; any other transition clears it."""
    with schema_context(PUBLIC_SCHEMA):
        locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
        sources, target = TRANSITIONS[transition]
        if locked.status not in sources or locked.is_public:
            raise TenantError(_refusal(locked, transition))
        previous = locked.status
        now = timezone.now()
        fields = ["status", "status_changed_at", "status_reason", "updated_at"]
        locked.status_reason = reason[: Tenant.STATUS_REASON_MAX] if transition == Transition.SUSPEND else ""
        if transition == Transition.SCHEDULE_DELETION:
            locked.status_before_deletion = previous
            locked.deletion_scheduled_at = now + timedelta(days=settings.TENANT_DELETION_GRACE_DAYS)
            fields += ["status_before_deletion", "deletion_scheduled_at"]
        elif transition == Transition.RESTORE:
            target = locked.status_before_deletion or TenantStatus.ACTIVE
            locked.status_before_deletion = ""
            locked.deletion_scheduled_at = None
            fields += ["status_before_deletion", "deletion_scheduled_at"]
        assert target is not None  # noqa: S101  (only RESTORE leaves it to the row)
        locked.status = target
        locked.status_changed_at = now
        locked.save(update_fields=fields)
    return StatusChange(tenant=locked, previous=previous)


# ---------------------------------------------------------------------------------------------------------------------
# Domains
# ---------------------------------------------------------------------------------------------------------------------


def tenant_lock_for_change(tenant: Tenant) -> Tenant:
    """Lock a workspace's row before changing its domains; refuses the platform's rows and pending deletions."""
    locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
    if locked.is_public or locked.status in (TenantStatus.TEMPLATE, TenantStatus.SPARE):
        raise TenantError(gettext("%(name)s is not a workspace.") % {"name": locked.name})
    if locked.status == TenantStatus.SCHEDULED_DELETION:
        raise TenantError(gettext("%(name)s is scheduled for deletion; restore it first.") % {"name": locked.name})
    return locked


def tenant_rename(*, tenant: Tenant, name: str) -> tuple[Tenant, str]:
    """Give the workspace a new display name (in the caller's transaction). Returns the locked row and the old name."""
    name = validate_tenant_name(name)
    locked = tenant_lock_for_change(tenant)
    previous = locked.name
    if previous == name:
        raise TenantError(gettext("The workspace is already called %(name)s.") % {"name": name})
    locked.name = name
    locked.save(update_fields=["name", "updated_at"])
    return locked, previous


def tenant_language_set(*, tenant: Tenant, language: str) -> tuple[Tenant, str]:
    """The workspace's default language ("" for none), in the caller's transaction. Returns the row and the old one."""
    if language and language not in {code for code, _name in settings.LANGUAGES}:
        raise TenantError(gettext("Choose one of the languages offered."))
    locked = tenant_lock_for_change(tenant)
    previous = locked.language
    locked.language = language
    locked.save(update_fields=["language", "updated_at"])
    return locked, previous


@dataclass(frozen=True)
class Rename:
    tenant: Tenant
    domain: Domain
    old_host: str
    redirect_until: datetime | None


def tenant_rename_subdomain(*, tenant: Tenant, new_slug: str) -> Rename:
    """Move the workspace to <new_slug>.<BASE_DOMAIN> (in the caller's transaction, wrapped in
    `domain_conflicts_as`). The schema keeps its opaque name; the old host stays the tenant's, redirecting to the new
    one for TENANT_RENAME_REDIRECT_DAYS, then is released."""
    new_slug = validate_subdomain(new_slug)
    new_host = host_for_slug(new_slug)
    locked = tenant_lock_for_change(tenant)
    old = Domain.objects.select_for_update().filter(tenant=locked, is_primary=True).first()
    if old is not None and old.domain == new_host:
        raise TenantError(gettext("%(name)s is already at %(new_host)s.") % {"name": locked.name, "new_host": new_host})
    existing = Domain.objects.filter(domain=new_host).first()
    if existing is not None and not (existing.tenant_id == locked.pk and existing.redirect_until):
        raise SubdomainTaken(gettext("The subdomain “%(new_slug)s” is taken.") % {"new_slug": new_slug})
    if existing is not None:  # renaming back to a host still redirecting here
        existing.delete()
    if old is not None:
        old.is_primary = False
        old.redirect_until = timezone.now() + timedelta(days=settings.TENANT_RENAME_REDIRECT_DAYS)
        old.save(update_fields=["is_primary", "redirect_until"])
    domain = Domain.objects.create(domain=new_host, tenant=locked, is_primary=True)
    return Rename(
        tenant=locked,
        domain=domain,
        old_host=old.domain if old else "",
        redirect_until=old.redirect_until if old else None,
    )


def domain_add(*, tenant: Tenant, domain: str) -> Domain:
    """Attach a custom domain (served as the workspace, never primary: links keep using the subdomain). In the
    caller's transaction, wrapped in `domain_conflicts_as(DomainTaken(...))`."""
    host = validate_custom_domain(domain)
    if Domain.objects.filter(domain=host).exists():
        raise DomainTaken(gettext("%(host)s is already in use.") % {"host": host})
    locked = tenant_lock_for_change(tenant)
    return Domain.objects.create(domain=host, tenant=locked, is_primary=False)


def domain_remove(*, tenant: Tenant, domain: str) -> str:
    """Detach a custom domain (or end an old subdomain's redirect early). The primary host cannot be removed. Returns
    the host removed."""
    host = host_normalise(domain)
    if host is None:
        raise DomainInvalid(gettext("That is not a domain name."))
    locked = tenant_lock_for_change(tenant)
    row = Domain.objects.select_for_update().filter(domain=host, tenant=locked).first()
    if row is None:
        raise TenantError(gettext("%(host)s is not a domain of %(name)s.") % {"host": host, "name": locked.name})
    if row.is_primary:
        raise TenantError(
            gettext("%(host)s is the primary host of %(name)s; rename the subdomain instead.")
            % {"host": host, "name": locked.name}
        )
    row.delete()
    return host


def domain_release(*, domain: Domain) -> None:
    """Delete an old subdomain whose redirect grace period is over."""
    domain.delete()


# ---------------------------------------------------------------------------------------------------------------------
# Deletion
# ---------------------------------------------------------------------------------------------------------------------


def tenant_destroy(
    *,
    tenant: Tenant,
    action: str,
    actor_id: int | None,
    actor_label: str,
    metadata: dict[str, object],
    progress: storage_purge.Progress | None = None,
) -> None:
    """Drop the schema and the rows (domains, and whatever else points at the tenant, cascade), record it in the
    public `TenantEvent` log, then (after commit) delete the tenant's files and cache entries. Runs inside the
    caller's transaction."""
    if tenant.is_public or tenant.status == TenantStatus.TEMPLATE:
        raise TenantError(
            gettext("The public schema cannot be deleted.")
            if tenant.is_public
            else gettext("The template is not a workspace.")
        )
    schema = tenant.schema_name
    hosts = list(Domain.objects.filter(tenant=tenant).values_list("domain", flat=True))
    TenantEvent.objects.create(
        tenant_id=tenant.pk,
        schema_name=schema,
        tenant_name=tenant.name,
        action=action,
        actor_id=actor_id,
        actor_label=actor_label,
        metadata={"hosts": hosts, **metadata},
    )
    with connection.cursor() as cursor:
        # Deferred FK checks queued earlier in this transaction would block DROP SCHEMA ("pending trigger events").
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    tenant.delete(force_drop=True)
    connection.set_schema_to_public()
    storage_purge.purge_request(schema)  # the files' purge is recorded with the drop: resumed if interrupted
    transaction.on_commit(
        lambda: lifecycle.tenant_leftovers_delete(schema=schema, hosts=hosts, progress=progress), robust=True
    )
    logger.warning("tenant dropped", extra={"tenant": schema, "tenant_name": tenant.name, "action": action})


__all__ = ["Method", "Via"]
