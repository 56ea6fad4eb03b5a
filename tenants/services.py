"""Writes about tenants: creation, state changes, domains, deletion. Commands, admin and (later) signup call these.

Every state change writes an audit entry in the tenant's own log; events that outlive the tenant's schema (purge,
immediate deletion) are recorded in the public schema (`TenantEvent`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from shared_apps.accounts.models import Membership, Role, User
from shared_apps.accounts.services import membership_create, user_get_or_create
from tenant_apps.audit.services import audit_record
from tenants import lifecycle, provisioning, redirects
from tenants.db import connection
from tenants.errors import DomainTaken, SubdomainTaken, TenantError
from tenants.models import PUBLIC_SCHEMA, Domain, Tenant, TenantEvent, TenantStatus
from tenants.provisioning import Method, Via
from tenants.selectors import host_for_slug
from tenants.validators import validate_custom_domain, validate_subdomain

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


def tenant_create(
    *,
    slug: str,
    name: str,
    owner_email: str,
    owner_password: str | None = None,
    acting_user: User | None = None,
    method: Method = Method.AUTO,
) -> tuple[Tenant, User]:
    """Create a workspace at <slug>.<BASE_DOMAIN> with its owner, in one transaction (DESIGN §4).

    The schema is a claimed warm-pool spare when there is one, else a copy of the template (fast path), else made
    by migrations (`method` forces one way). A failure at any step leaves no tenant row, no domain, no membership and
    no schema — or, for a claim, the spare as it was. Two signups racing for one subdomain: the unique index on the
    domain decides, the loser gets SubdomainTaken and its transaction (schema included) is rolled back.
    """
    slug = validate_subdomain(slug)
    name = name.strip()
    if not name:
        raise TenantError("Give the workspace a name.")
    if len(name) > 100:
        raise TenantError("Workspace names can have at most 100 characters.")
    host = host_for_slug(slug)
    with schema_context(PUBLIC_SCHEMA):
        if Domain.objects.filter(domain=host).exists():
            raise SubdomainTaken(f"The subdomain “{slug}” is taken.")
        try:
            with transaction.atomic():
                # The schema first: creating one takes SHARE ROW EXCLUSIVE locks on the public tables its foreign
                # keys point at (accounts_user, …). Taken before this transaction writes to any of them, two
                # concurrent creations queue on those locks instead of deadlocking. A pool claim runs no DDL at all.
                tenant, via = provisioning.provision(name=name, method=method)
                owner, _ = user_get_or_create(email=owner_email, password=owner_password)
                Domain.objects.create(domain=host, tenant=tenant, is_primary=True)
                membership_create(user=owner, tenant=tenant, role=Role.OWNER)
                with tenant_context(tenant):
                    audit_record(
                        action="tenant.created",
                        actor=acting_user,
                        target=tenant,
                        metadata={"subdomain": slug, "owner": owner.email, "provisioned_via": str(via)},
                    )
                transaction.on_commit(lambda: _enqueue_welcome(tenant, owner.email))
                if settings.TENANT_POOL_SIZE > 0:
                    transaction.on_commit(_enqueue_pool_refill)
        except IntegrityError as exc:
            if _is_domain_conflict(exc):
                raise SubdomainTaken(f"The subdomain “{slug}” is taken.") from exc
            raise
    logger.info("tenant created", extra={"tenant": tenant.schema_name, "subdomain": slug, "via": str(via)})
    return tenant, owner


def _enqueue_welcome(tenant: Tenant, owner_email: str) -> None:
    """Runs after commit: the workspace exists whatever happens here, so a broker hiccup is logged, not raised."""
    from tenant_apps.workspace.tasks import workspace_welcome

    try:
        with tenant_context(tenant):
            workspace_welcome.delay(owner_email=owner_email)
    except Exception:
        logger.exception("could not enqueue the welcome task", extra={"tenant": tenant.schema_name})


def _enqueue_pool_refill() -> None:
    from tenants.tasks import pool_refill

    try:
        with schema_context(PUBLIC_SCHEMA):
            pool_refill.delay()
    except Exception:
        logger.exception("could not enqueue the pool refill")


def pool_fill(
    *, size: int | None = None, progress: Callable[[int, int], None] | None = None
) -> provisioning.PoolFillResult:
    """Top the warm pool up to `size` spares (TENANT_POOL_SIZE by default)."""
    return provisioning.pool_fill(size=size, progress=progress)


# ---------------------------------------------------------------------------------------------------------------------
# Status
# ---------------------------------------------------------------------------------------------------------------------


def _status_set(
    *,
    tenant: Tenant,
    status: str,
    action: str,
    acting_user: User | None,
    refuse_when: Callable[[Tenant], str | None],
    reason: str = "",
    extra: Callable[[Tenant], list[str]] | None = None,
) -> Tenant:
    """Lock the row, check the transition on what the database says now, change it, and audit it."""
    with schema_context(PUBLIC_SCHEMA), transaction.atomic():
        locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
        refusal = refuse_when(locked)
        if refusal:
            raise TenantError(refusal)
        previous = locked.status
        fields = ["status", "status_changed_at", "updated_at"]
        if extra is not None:
            fields += extra(locked)  # sees the row as it was
        locked.status = status
        locked.status_changed_at = timezone.now()
        locked.save(update_fields=fields)
        with tenant_context(locked):
            audit_record(
                action=action,
                actor=acting_user,
                target=locked,
                metadata={"from": previous, "reason": reason}
                | ({"purge_after": locked.deletion_scheduled_at.isoformat()} if locked.deletion_scheduled_at else {}),
            )
    return locked


def _refuse_platform_rows(t: Tenant) -> str | None:
    if t.is_public or t.status in (TenantStatus.TEMPLATE, TenantStatus.SPARE):
        return f"{t.name} is not a workspace."
    return None


def tenant_suspend(*, tenant: Tenant, acting_user: User | None, reason: str = "") -> Tenant:
    def refuse(t: Tenant) -> str | None:
        if t.status == TenantStatus.SUSPENDED:
            return f"{t.name} is already suspended."
        if t.status == TenantStatus.SCHEDULED_DELETION:
            return f"{t.name} is scheduled for deletion; restore it first."
        return _refuse_platform_rows(t)

    return _status_set(
        tenant=tenant,
        status=TenantStatus.SUSPENDED,
        action="tenant.suspended",
        acting_user=acting_user,
        reason=reason,
        refuse_when=refuse,
    )


def tenant_resume(*, tenant: Tenant, acting_user: User | None) -> Tenant:
    return _status_set(
        tenant=tenant,
        status=TenantStatus.ACTIVE,
        action="tenant.resumed",
        acting_user=acting_user,
        refuse_when=lambda t: (
            None
            if t.status == TenantStatus.SUSPENDED
            else f"{t.name} is not suspended (its status is {t.get_status_display().lower()})."
        ),
    )


def _ensure_owner_or_operator(tenant: Tenant, acting_user: User | None, verb: str) -> None:
    """Operators (and the command line, acting_user=None) may; otherwise only an owner of the workspace."""
    if acting_user is None or acting_user.is_staff:
        return
    if not Membership.objects.filter(user=acting_user, tenant=tenant, role=Role.OWNER).exists():
        raise TenantError(f"Only an owner of {tenant.name} can {verb} it.")


def tenant_schedule_deletion(*, tenant: Tenant, acting_user: User | None, reason: str = "") -> Tenant:
    """Start the grace period (TENANT_DELETION_GRACE_DAYS): the workspace answers 410 and can be restored."""
    _ensure_owner_or_operator(tenant, acting_user, "delete")

    def refuse(t: Tenant) -> str | None:
        if t.status == TenantStatus.SCHEDULED_DELETION:
            return f"{t.name} is already scheduled for deletion."
        return _refuse_platform_rows(t)

    def mark(t: Tenant) -> list[str]:
        t.status_before_deletion = t.status
        t.deletion_scheduled_at = timezone.now() + timedelta(days=settings.TENANT_DELETION_GRACE_DAYS)
        return ["status_before_deletion", "deletion_scheduled_at"]

    return _status_set(
        tenant=tenant,
        status=TenantStatus.SCHEDULED_DELETION,
        action="tenant.deletion_scheduled",
        acting_user=acting_user,
        reason=reason,
        refuse_when=refuse,
        extra=mark,
    )


def tenant_restore(*, tenant: Tenant, acting_user: User | None) -> Tenant:
    """Cancel a scheduled deletion: the workspace returns to the status it had before."""
    _ensure_owner_or_operator(tenant, acting_user, "restore")
    with schema_context(PUBLIC_SCHEMA), transaction.atomic():
        locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
        if locked.status != TenantStatus.SCHEDULED_DELETION:
            raise TenantError(f"{locked.name} is not scheduled for deletion.")
        previous_status = locked.status_before_deletion or TenantStatus.ACTIVE
        locked.status = previous_status
        locked.status_changed_at = timezone.now()
        locked.status_before_deletion = ""
        locked.deletion_scheduled_at = None
        locked.save(
            update_fields=[
                "status",
                "status_changed_at",
                "status_before_deletion",
                "deletion_scheduled_at",
                "updated_at",
            ]
        )
        with tenant_context(locked):
            audit_record(
                action="tenant.restored",
                actor=acting_user,
                target=locked,
                metadata={"to": previous_status},
            )
    return locked


# ---------------------------------------------------------------------------------------------------------------------
# Domains
# ---------------------------------------------------------------------------------------------------------------------


def _workspace_for_change(tenant: Tenant) -> Tenant:
    locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
    refusal = _refuse_platform_rows(locked)
    if refusal:
        raise TenantError(refusal)
    if locked.status == TenantStatus.SCHEDULED_DELETION:
        raise TenantError(f"{locked.name} is scheduled for deletion; restore it first.")
    return locked


def tenant_rename_subdomain(*, tenant: Tenant, new_slug: str, acting_user: User | None) -> Domain:
    """Move the workspace to <new_slug>.<BASE_DOMAIN>. The schema keeps its (opaque) name; the old host stays the
    tenant's, redirecting to the new one for TENANT_RENAME_REDIRECT_DAYS, then is released."""
    new_slug = validate_subdomain(new_slug)
    new_host = host_for_slug(new_slug)
    with schema_context(PUBLIC_SCHEMA):
        try:
            with transaction.atomic():
                locked = _workspace_for_change(tenant)
                old = Domain.objects.select_for_update().filter(tenant=locked, is_primary=True).first()
                if old is not None and old.domain == new_host:
                    raise TenantError(f"{locked.name} is already at {new_host}.")
                existing = Domain.objects.filter(domain=new_host).first()
                if existing is not None and not (existing.tenant_id == locked.pk and existing.redirect_until):
                    raise SubdomainTaken(f"The subdomain “{new_slug}” is taken.")
                if existing is not None:  # renaming back to a host still redirecting here
                    existing.delete()
                if old is not None:
                    old.is_primary = False
                    old.redirect_until = timezone.now() + timedelta(days=settings.TENANT_RENAME_REDIRECT_DAYS)
                    old.save(update_fields=["is_primary", "redirect_until"])
                domain = Domain.objects.create(domain=new_host, tenant=locked, is_primary=True)
                with tenant_context(locked):
                    audit_record(
                        action="tenant.subdomain_renamed",
                        actor=acting_user,
                        target=locked,
                        metadata={
                            "from": old.domain if old else "",
                            "to": new_host,
                            "redirect_until": old.redirect_until.isoformat() if old and old.redirect_until else "",
                        },
                    )
        except IntegrityError as exc:
            if _is_domain_conflict(exc):
                raise SubdomainTaken(f"The subdomain “{new_slug}” is taken.") from exc
            raise
    redirects.forget([d for d in (old.domain if old else None, new_host) if d])
    return domain


def domain_add(*, tenant: Tenant, domain: str, acting_user: User | None) -> Domain:
    """Attach a custom domain (served as the workspace, never primary: links keep using the subdomain)."""
    host = validate_custom_domain(domain)
    with schema_context(PUBLIC_SCHEMA):
        if Domain.objects.filter(domain=host).exists():
            raise DomainTaken(f"{host} is already in use.")
        try:
            with transaction.atomic():
                locked = _workspace_for_change(tenant)
                created = Domain.objects.create(domain=host, tenant=locked, is_primary=False)
                with tenant_context(locked):
                    audit_record(
                        action="tenant.domain_added", actor=acting_user, target=locked, metadata={"domain": host}
                    )
        except IntegrityError as exc:
            if _is_domain_conflict(exc):
                raise DomainTaken(f"{host} is already in use.") from exc
            raise
    redirects.forget([host])
    return created


def domain_remove(*, tenant: Tenant, domain: str, acting_user: User | None) -> None:
    """Detach a custom domain (or end an old subdomain's redirect early). The primary host cannot be removed."""
    host = domain.strip().lower().rstrip(".")
    with schema_context(PUBLIC_SCHEMA), transaction.atomic():
        locked = _workspace_for_change(tenant)
        row = Domain.objects.select_for_update().filter(domain=host, tenant=locked).first()
        if row is None:
            raise TenantError(f"{host} is not a domain of {locked.name}.")
        if row.is_primary:
            raise TenantError(f"{host} is the primary host of {locked.name}; rename the subdomain instead.")
        row.delete()
        with tenant_context(locked):
            audit_record(action="tenant.domain_removed", actor=acting_user, target=locked, metadata={"domain": host})
    redirects.forget([host])


def domains_expire_redirects() -> int:
    """Release old subdomains whose redirect grace period is over. Returns how many."""
    with schema_context(PUBLIC_SCHEMA):
        expired = list(Domain.objects.filter(redirect_until__lte=timezone.now(), is_primary=False))
        for row in expired:
            with transaction.atomic():
                host, tenant = row.domain, row.tenant
                row.delete()
                if tenant.status not in (TenantStatus.TEMPLATE, TenantStatus.SPARE):
                    with tenant_context(tenant):
                        audit_record(
                            action="tenant.redirect_expired", actor=None, target=tenant, metadata={"domain": host}
                        )
        redirects.forget([row.domain for row in expired])
    return len(expired)


# ---------------------------------------------------------------------------------------------------------------------
# Deletion, purge, export
# ---------------------------------------------------------------------------------------------------------------------


def _destroy(*, tenant: Tenant, acting_user: User | None, action: str, metadata: dict[str, object]) -> None:
    """Drop the schema and the rows (domains and memberships cascade), record it publicly, then (after commit)
    delete the tenant's files and cache entries. Runs inside the caller's transaction."""
    schema = tenant.schema_name
    hosts = list(Domain.objects.filter(tenant=tenant).values_list("domain", flat=True))
    TenantEvent.objects.create(
        tenant_id=tenant.pk,
        schema_name=schema,
        tenant_name=tenant.name,
        action=action,
        actor=acting_user,
        actor_label=acting_user.email if acting_user else "system",
        metadata={"hosts": hosts, "members": tenant.memberships.count(), **metadata},
    )
    with connection.cursor() as cursor:
        # Deferred FK checks queued earlier in this transaction would block DROP SCHEMA ("pending trigger events").
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    tenant.delete(force_drop=True)
    connection.set_schema_to_public()
    transaction.on_commit(lambda: lifecycle.tenant_leftovers_delete(schema=schema, hosts=hosts), robust=True)


def tenant_delete(*, tenant: Tenant, acting_user: User | None) -> None:
    """Delete a workspace now: its schema (all its data), domains and memberships. Cannot be undone."""
    if tenant.is_public or tenant.status == TenantStatus.TEMPLATE:
        raise TenantError(
            "The public schema cannot be deleted." if tenant.is_public else "The template is not a workspace."
        )
    with schema_context(PUBLIC_SCHEMA), transaction.atomic():
        _destroy(tenant=tenant, acting_user=acting_user, action="tenant.deleted", metadata={})
    logger.warning(
        "tenant deleted",
        extra={
            "tenant": tenant.schema_name,
            "tenant_name": tenant.name,
            "actor": acting_user.email if acting_user else "system",
        },
    )


def tenant_purge(*, tenant: Tenant, acting_user: User | None) -> None:
    """Purge a workspace scheduled for deletion: drop its schema, files and cache entries. The public-schema
    `TenantEvent` keeps the record (the tenant's own audit log goes with its schema)."""
    with schema_context(PUBLIC_SCHEMA), transaction.atomic():
        locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
        if locked.status != TenantStatus.SCHEDULED_DELETION:
            raise TenantError(f"{locked.name} is not scheduled for deletion; schedule it first (schedule-deletion).")
        _destroy(
            tenant=locked,
            acting_user=acting_user,
            action="tenant.purged",
            metadata={
                "scheduled_for": locked.deletion_scheduled_at.isoformat() if locked.deletion_scheduled_at else "",
                "early": bool(locked.deletion_scheduled_at and locked.deletion_scheduled_at > timezone.now()),
            },
        )
    logger.warning("tenant purged", extra={"tenant": tenant.schema_name, "tenant_name": tenant.name})


def tenants_purge_due() -> list[str]:
    """Purge every workspace whose grace period is over (the beat task). Returns the purged schema names."""
    purged = []
    with schema_context(PUBLIC_SCHEMA):
        due = Tenant.objects.filter(
            status=TenantStatus.SCHEDULED_DELETION, deletion_scheduled_at__lte=timezone.now()
        ).order_by("deletion_scheduled_at")
        for tenant in due:
            try:
                tenant_purge(tenant=tenant, acting_user=None)
                purged.append(tenant.schema_name)
            except Exception:
                logger.exception("purge failed", extra={"tenant": tenant.schema_name})
    return purged


def tenant_export(*, tenant: Tenant, acting_user: User | None, output: Path | None = None) -> Path:
    """Write a per-tenant archive (pg_dump of its schema, its files, and a JSON manifest) and audit it."""
    refusal = _refuse_platform_rows(tenant)
    if refusal:
        raise TenantError(refusal)
    archive = lifecycle.tenant_archive_write(tenant=tenant, output=output)
    with schema_context(PUBLIC_SCHEMA), transaction.atomic(), tenant_context(tenant):
        audit_record(
            action="tenant.exported",
            actor=acting_user,
            target=tenant,
            metadata={"archive": archive.name, "bytes": archive.stat().st_size},
        )
    return archive


__all__ = ["Method", "Via"]
