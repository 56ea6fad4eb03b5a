"""Writes about tenants: creation, state changes, deletion. Commands, admin and (later) signup all call these."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from shared_apps.accounts.models import Role, User
from shared_apps.accounts.services import membership_create, user_get_or_create
from tenant_apps.audit.services import audit_record
from tenants.db import connection
from tenants.errors import SubdomainTaken, TenantError
from tenants.models import PUBLIC_SCHEMA, Domain, Tenant, TenantStatus, new_schema_name
from tenants.selectors import host_for_slug
from tenants.validators import validate_subdomain

logger = logging.getLogger(__name__)


def public_tenant_ensure() -> Tenant:
    """The row django-tenants expects for the public schema, with the root domain. Idempotent."""
    with schema_context(PUBLIC_SCHEMA):
        tenant, _ = Tenant.objects.get_or_create(
            schema_name=PUBLIC_SCHEMA, defaults={"name": "Atrium (platform)", "status": TenantStatus.ACTIVE}
        )
        Domain.objects.get_or_create(domain=settings.BASE_DOMAIN, defaults={"tenant": tenant, "is_primary": True})
    return tenant


def tenant_create(
    *,
    slug: str,
    name: str,
    owner_email: str,
    owner_password: str | None = None,
    acting_user: User | None = None,
) -> tuple[Tenant, User]:
    """Create a workspace at <slug>.<BASE_DOMAIN> with its owner, in one transaction.

    The schema is created and migrated inside the transaction, so a failure at any step leaves no tenant row, no
    domain, no membership and no schema. (The warm pool and the fast clone path replace the migration step later.)
    """
    slug = validate_subdomain(slug)
    name = name.strip()
    if not name:
        raise TenantError("Give the workspace a name.")
    host = host_for_slug(slug)
    with schema_context(PUBLIC_SCHEMA):
        if Domain.objects.filter(domain=host).exists():
            raise SubdomainTaken(f"The subdomain “{slug}” is taken.")
        try:
            with transaction.atomic():
                owner, _ = user_get_or_create(email=owner_email, password=owner_password)
                tenant = Tenant(schema_name=new_schema_name(), name=name, status=TenantStatus.ACTIVE)
                tenant.save(verbosity=0)
                connection.set_schema_to_public()
                Domain.objects.create(domain=host, tenant=tenant, is_primary=True)
                membership_create(user=owner, tenant=tenant, role=Role.OWNER)
                with tenant_context(tenant):
                    audit_record(
                        action="tenant.created",
                        actor=acting_user,
                        target=tenant,
                        metadata={"subdomain": slug, "owner": owner.email},
                    )
                transaction.on_commit(lambda: _enqueue_welcome(tenant, owner.email))
        except IntegrityError as exc:
            if "domain" in str(exc):
                raise SubdomainTaken(f"The subdomain “{slug}” is taken.") from exc
            raise
    logger.info("tenant created", extra={"tenant": tenant.schema_name, "subdomain": slug})
    return tenant, owner


def _enqueue_welcome(tenant: Tenant, owner_email: str) -> None:
    """Runs after commit: the workspace exists whatever happens here, so a broker hiccup is logged, not raised."""
    from tenant_apps.workspace.tasks import workspace_welcome

    try:
        with tenant_context(tenant):
            workspace_welcome.delay(owner_email=owner_email)
    except Exception:
        logger.exception("could not enqueue the welcome task", extra={"tenant": tenant.schema_name})


def _status_set(
    *,
    tenant: Tenant,
    status: str,
    action: str,
    acting_user: User | None,
    refuse_when: Callable[[Tenant], str | None],
    reason: str = "",
) -> Tenant:
    """Lock the row, check the transition on what the database says now, change it, and audit it."""
    with transaction.atomic():
        locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
        refusal = refuse_when(locked)
        if refusal:
            raise TenantError(refusal)
        previous = locked.status
        locked.status = status
        locked.status_changed_at = timezone.now()
        locked.save(update_fields=["status", "status_changed_at", "updated_at"])
        with tenant_context(locked):
            audit_record(action=action, actor=acting_user, target=locked, metadata={"from": previous, "reason": reason})
    return locked


def tenant_suspend(*, tenant: Tenant, acting_user: User | None, reason: str = "") -> Tenant:
    return _status_set(
        tenant=tenant,
        status=TenantStatus.SUSPENDED,
        action="tenant.suspended",
        acting_user=acting_user,
        reason=reason,
        refuse_when=lambda t: f"{t.name} is already suspended." if t.status == TenantStatus.SUSPENDED else None,
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


@transaction.atomic
def tenant_delete(*, tenant: Tenant, acting_user: User | None) -> None:
    """Delete a workspace now: its schema (all its data), domains and memberships. Cannot be undone."""
    if tenant.is_public:
        raise TenantError("The public schema cannot be deleted.")
    schema = tenant.schema_name
    with connection.cursor() as cursor:
        # Deferred FK checks queued earlier in this transaction would block DROP SCHEMA ("pending trigger events").
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    tenant.delete(force_drop=True)
    connection.set_schema_to_public()
    # The tenant's own audit log went with its schema; the platform log keeps the record of the deletion.
    logger.warning(
        "tenant deleted",
        extra={"tenant": schema, "tenant_name": tenant.name, "actor": acting_user.email if acting_user else "system"},
    )
