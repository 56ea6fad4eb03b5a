"""Deleting a workspace: scheduling it (the grace period) and restoring it, deleting it now, and purging those whose
grace period is over.

A workspace's subscription ends with it: every way of deleting it cancels the subscription at Stripe at once (no
further charges; the period already paid for is not refunded), through the billing service, audited, in the same
transaction as the deletion and as its last step that can fail: when Stripe does not answer, nothing changes. A
restored workspace comes back without a subscription, so its billing state is applied again (suspended until an
owner chooses a plan; a workspace that never had one stays as it was)."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context

from billing import selectors as billing_selectors
from billing import services as billing_services
from shared_apps.accounts.models import Membership, User
from shared_apps.storage import purge as storage_purge
from shared_apps.workspaces.services.authorization import OperatorPermission, actor_label, authorize
from shared_apps.workspaces.services.billing_state import workspace_billing_state_apply
from shared_apps.workspaces.services.status import status_change
from tenants import selectors
from tenants import services as tenancy
from tenants.errors import TenantError
from tenants.models import PUBLIC_SCHEMA, Tenant, TenantStatus
from tenants.services import Transition

logger = logging.getLogger(__name__)


def workspace_schedule_deletion(*, tenant: Tenant, acting_user: User | None, reason: str = "") -> Tenant:
    """Start the grace period (TENANT_DELETION_GRACE_DAYS): the workspace answers 410 and can be restored. Its
    subscription is cancelled at once."""
    with transaction.atomic():
        changed = status_change(
            tenant=tenant, transition=Transition.SCHEDULE_DELETION, acting_user=acting_user, reason=reason
        )
        billing_services.subscription_cancel(
            tenant=changed, acting_user=acting_user, reason=reason or "workspace scheduled for deletion"
        )
    return changed


def workspace_restore(*, tenant: Tenant, acting_user: User | None, reason: str = "") -> Tenant:
    """Cancel a scheduled deletion: the workspace returns to the status it had before, then to the one its
    subscription calls for (one cancelled with the deletion: suspended, billing open to owners)."""
    with transaction.atomic():
        changed = status_change(tenant=tenant, transition=Transition.RESTORE, acting_user=acting_user, reason=reason)
        account = billing_selectors.account_for(tenant_id=changed.pk)
        if account is not None:
            changed = (
                workspace_billing_state_apply(
                    account=account, previous_status=account.status, previous_plan=account.plan, now=timezone.now()
                )
                or changed
            )
    return changed


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
        ended = billing_services.subscription_cancel(tenant=tenant, acting_user=acting_user, reason="workspace deleted")
        tenancy.tenant_destroy(
            tenant=tenant,
            action="tenant.deleted",
            actor_id=acting_user.pk if acting_user else None,
            actor_label=actor_label(acting_user),
            metadata={
                "members": Membership.objects.filter(tenant=tenant).count(),
                "subscription_canceled": ended.subscription_id if ended else "",
            },
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
        # cancelled when the deletion was scheduled; one made since (a webhook's late sync) ends here
        billing_services.subscription_cancel(tenant=locked, acting_user=acting_user, reason="workspace purged")
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
