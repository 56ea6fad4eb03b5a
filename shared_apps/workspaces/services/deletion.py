"""Deleting a workspace now, and purging those whose grace period is over."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context

from shared_apps.accounts.models import Membership, User
from shared_apps.storage import purge as storage_purge
from shared_apps.workspaces.services.authorization import OperatorPermission, actor_label, authorize
from tenants import selectors
from tenants import services as tenancy
from tenants.errors import TenantError
from tenants.models import PUBLIC_SCHEMA, Tenant, TenantStatus

logger = logging.getLogger(__name__)


def workspace_delete(*, tenant: Tenant, acting_user: User | None) -> None:
    """Delete a workspace now: its schema (all its data), domains, memberships and invitations. Cannot be undone;
    the public `TenantEvent` log keeps the record."""
    authorize(
        tenant=tenant,
        acting_user=acting_user,
        operator_permission=OperatorPermission.DELETE,
        member_action=None,
        verb="delete",
    )
    with schema_context(PUBLIC_SCHEMA), transaction.atomic():
        tenancy.tenant_destroy(
            tenant=tenant,
            action="tenant.deleted",
            actor_id=acting_user.pk if acting_user else None,
            actor_label=actor_label(acting_user),
            metadata={"members": Membership.objects.filter(tenant=tenant).count()},
        )


def workspace_purge(
    *, tenant: Tenant, acting_user: User | None, progress: storage_purge.Progress | None = None
) -> None:
    """Purge a workspace scheduled for deletion: drop its schema, then (after commit) its files, in batches, and its
    cache entries; `progress` hears after each batch of files. The public `TenantEvent` keeps the record (the
    workspace's own audit log goes with its schema)."""
    authorize(
        tenant=tenant,
        acting_user=acting_user,
        operator_permission=OperatorPermission.DELETE,
        member_action=None,
        verb="purge",
    )
    with schema_context(PUBLIC_SCHEMA), transaction.atomic():
        locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
        if locked.status != TenantStatus.SCHEDULED_DELETION:
            raise TenantError(
                _("%(name)s is not scheduled for deletion; schedule it first (schedule-deletion).")
                % {"name": locked.name}
            )
        due = locked.deletion_scheduled_at
        tenancy.tenant_destroy(
            tenant=locked,
            action="tenant.purged",
            actor_id=acting_user.pk if acting_user else None,
            actor_label=actor_label(acting_user),
            metadata={
                "members": Membership.objects.filter(tenant=locked).count(),
                "scheduled_for": due.isoformat() if due else "",
                "early": bool(due and due > timezone.now()),
            },
            progress=progress,
        )


def workspaces_purge_due() -> list[str]:
    """Purge every workspace whose grace period is over (beat). Returns the purged schema names."""
    purged = []
    for tenant in selectors.deletions_due():
        try:
            workspace_purge(tenant=tenant, acting_user=None)
            purged.append(tenant.schema_name)
        except Exception:
            logger.exception("purge failed", extra={"tenant": tenant.schema_name})
    return purged
