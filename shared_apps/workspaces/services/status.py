"""Status changes (suspend, resume, schedule deletion, restore, billing's transitions): who may make each, and its
audit entry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django_tenants.utils import schema_context

from shared_apps.accounts.models import User
from shared_apps.accounts.permissions import Action
from shared_apps.workspaces.models import OperatorAction
from shared_apps.workspaces.services.authorization import OperatorPermission, authorize
from shared_apps.workspaces.services.operator_log import operator_log_record, operator_reason
from tenant_apps.audit.actions import AuditAction
from tenant_apps.audit.services import audit_record
from tenants import services as tenancy
from tenants.models import PUBLIC_SCHEMA, Tenant
from tenants.services import Transition


@dataclass(frozen=True)
class _StatusRule:
    """Who may make a status change, and what the audit log (and the operator log, when an operator makes it) calls
    it."""

    operator_permission: str
    member_action: Action | None  # None: operators (and the platform) only
    verb: str
    audit: AuditAction
    operator_action: OperatorAction | None = None


STATUS_RULES: dict[Transition, _StatusRule] = {
    Transition.SUSPEND: _StatusRule(
        OperatorPermission.CHANGE, None, "suspend", AuditAction.TENANT_SUSPENDED, OperatorAction.WORKSPACE_SUSPENDED
    ),
    Transition.RESUME: _StatusRule(
        OperatorPermission.CHANGE, None, "resume", AuditAction.TENANT_RESUMED, OperatorAction.WORKSPACE_RESUMED
    ),
    Transition.SCHEDULE_DELETION: _StatusRule(
        OperatorPermission.DELETE,
        Action.WORKSPACE_DELETE,
        "delete",
        AuditAction.TENANT_DELETION_SCHEDULED,
        OperatorAction.WORKSPACE_DELETION_SCHEDULED,
    ),
    Transition.RESTORE: _StatusRule(
        OperatorPermission.DELETE,
        Action.WORKSPACE_DELETE,
        "restore",
        AuditAction.TENANT_RESTORED,
        OperatorAction.WORKSPACE_RESTORED,
    ),
    # Billing's transitions are the platform's (acting_user=None), driven by the subscription.
    Transition.BILLING_PAST_DUE: _StatusRule(
        OperatorPermission.CHANGE, None, "mark past due", AuditAction.BILLING_PAST_DUE
    ),
    Transition.BILLING_READ_ONLY: _StatusRule(
        OperatorPermission.CHANGE, None, "make read-only", AuditAction.BILLING_READ_ONLY
    ),
    Transition.BILLING_SUSPEND: _StatusRule(
        OperatorPermission.CHANGE, None, "suspend for non-payment", AuditAction.BILLING_SUSPENDED
    ),
    Transition.BILLING_REACTIVATE: _StatusRule(
        OperatorPermission.CHANGE, None, "reactivate", AuditAction.BILLING_REACTIVATED
    ),
}


def status_change(*, tenant: Tenant, transition: Transition, acting_user: User | None, reason: str = "") -> Tenant:
    """Check who acts against STATUS_RULES, apply the tenancy core's transition table, and audit it, in one
    transaction."""
    rule = STATUS_RULES[transition]
    as_operator = authorize(
        tenant=tenant,
        acting_user=acting_user,
        operator_permission=rule.operator_permission,
        member_action=rule.member_action,
        verb=rule.verb,
    )
    if as_operator:
        reason = operator_reason(reason)
    with schema_context(PUBLIC_SCHEMA), transaction.atomic():
        change = tenancy.tenant_transition(tenant=tenant, transition=transition, reason=reason)
        changed = change.tenant
        details: dict[str, Any]
        if transition == Transition.RESTORE:
            details = {"to": changed.status}
            if reason:
                details["reason"] = reason
        else:
            details = {"from": change.previous, "reason": reason}
            if changed.deletion_scheduled_at:
                details["purge_after"] = changed.deletion_scheduled_at.isoformat()
        if as_operator and acting_user is not None and rule.operator_action is not None:
            details["operator"] = True
            operator_log_record(
                operator=acting_user,
                action=rule.operator_action,
                reason=reason,
                tenant=changed,
                metadata={"from": change.previous, "to": changed.status},
            )
        audit_record(tenant=changed, action=rule.audit, actor=acting_user, target=changed, metadata=details)
    return changed


def workspace_suspend(*, tenant: Tenant, acting_user: User | None, reason: str = "") -> Tenant:
    """Suspend a workspace (operators): its pages answer with the suspension page until it is resumed."""
    return status_change(tenant=tenant, transition=Transition.SUSPEND, acting_user=acting_user, reason=reason)


def workspace_resume(*, tenant: Tenant, acting_user: User | None, reason: str = "") -> Tenant:
    return status_change(tenant=tenant, transition=Transition.RESUME, acting_user=acting_user, reason=reason)
