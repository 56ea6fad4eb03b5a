"""Billing: the subscription drives the workspace's state; plan changes are checked against what the workspace uses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import gettext as _
from django_tenants.utils import tenant_context

from billing import entitlements as billing_entitlements
from billing import plans
from billing import selectors as billing_selectors
from billing import services as billing_services
from billing.models import BillingAccount
from billing.plans import Interval, Resource
from shared_apps.accounts.models import User
from shared_apps.accounts.permissions import Action
from shared_apps.accounts.selectors import seats_used
from shared_apps.workspaces.services.authorization import OperatorPermission, authorize
from shared_apps.workspaces.services.status import status_change
from tenant_apps.audit.actions import AuditAction
from tenant_apps.audit.events import EventType, event_emit
from tenant_apps.audit.services import audit_record
from tenant_apps.projects.models import Project
from tenants import services as tenancy
from tenants.models import Tenant, TenantStatus
from tenants.services import Transition

# The state the subscription calls for → the transition that leads there.
_BILLING_TRANSITIONS: dict[str, Transition] = {
    TenantStatus.ACTIVE: Transition.BILLING_REACTIVATE,
    TenantStatus.PAST_DUE: Transition.BILLING_PAST_DUE,
    TenantStatus.READ_ONLY: Transition.BILLING_READ_ONLY,
    TenantStatus.BILLING_SUSPENDED: Transition.BILLING_SUSPEND,
}


def workspace_billing_state_apply(
    *, account: BillingAccount, previous_status: str, previous_plan: str, now: datetime
) -> Tenant | None:
    """Apply what the subscription (just read back from Stripe) says to the workspace: trialing/active → active;
    past due → past due, then read-only after BILLING_PAST_DUE_GRACE_DAYS; canceled/unpaid → suspended (billing
    stays open to owners); paid again → active. Each transition, and each plan change, is an audit entry. An
    operator's suspension or a pending deletion is never lifted by a payment. Runs in the sync's transaction."""
    tenant = Tenant.objects.get(pk=account.tenant_id)
    if previous_plan and account.plan and previous_plan != account.plan:
        audit_record(
            tenant=tenant,
            action=AuditAction.BILLING_PLAN_CHANGED,
            actor=None,
            target=tenant,
            metadata={"from": previous_plan, "to": account.plan, "interval": account.interval},
        )
        event_emit(
            tenant=tenant,
            type=EventType.BILLING_PLAN_CHANGED,
            actor=None,
            data={
                "plan": account.plan,
                "previous_plan": previous_plan,
                "interval": account.interval,
                "status": account.status,
            },
        )
    target = billing_selectors.workspace_state_for(account, now=now)
    if target is None or tenant.status == target:
        return None
    transition = _BILLING_TRANSITIONS[target]
    if tenant.status not in tenancy.TRANSITIONS[transition][0]:
        return None
    return status_change(
        tenant=tenant,
        transition=transition,
        acting_user=None,
        reason=f"subscription {account.status}"
        + (f" (was {previous_status})" if previous_status != account.status else ""),
    )


def workspace_usage(tenant: Tenant) -> dict[Resource, int]:

    with tenant_context(tenant):
        projects = Project.objects.count()
    return {
        Resource.SEATS: seats_used(tenant_id=tenant.pk),
        Resource.PROJECTS: projects,
        Resource.STORAGE_BYTES: billing_selectors.storage_used_bytes(schema_name=tenant.schema_name),
    }


@dataclass(frozen=True)
class PlanChange:
    checkout_url: str = ""  # go there to enter a card and confirm
    changed: bool = False


def workspace_plan_change(
    *, tenant: Tenant, plan_code: str, interval: str, acting_user: User, success_url: str, cancel_url: str
) -> PlanChange:
    """An owner picks a plan. Refused, with the reasons, when the workspace has outgrown it (seats, projects,
    storage). A workspace without a card goes through Stripe Checkout; one with a card is moved at once (prorated)."""
    plan = plans.plan_get(plan_code)
    if plan is None or interval not in Interval.__members__.values():
        raise billing_services.BillingError(_("Choose one of the plans on the pricing page."))
    authorize(
        tenant=tenant,
        acting_user=acting_user,
        operator_permission=OperatorPermission.CHANGE,
        member_action=Action.BILLING_MANAGE,
        verb="change the plan of",
    )
    reasons = billing_entitlements.plan_outgrown(plan, workspace_usage(tenant))
    if reasons:
        raise billing_services.PlanOutgrown(
            f"{tenant.name} cannot move to {plan.name}: " + "; ".join(reasons) + ". Make room first, then try again."
        )
    account = billing_selectors.account_for(tenant_id=tenant.pk)
    paying = account is not None and account.card_last4 and account.stripe_subscription_id
    if paying or (plan.is_free and account is not None and account.stripe_subscription_id):
        billing_services.subscription_change_plan(
            tenant=tenant, plan=plan, interval=Interval(interval), acting_user=acting_user
        )
        return PlanChange(changed=True)
    url = billing_services.checkout_start(
        tenant=tenant,
        plan=plan,
        interval=Interval(interval),
        acting_user=acting_user,
        success_url=success_url,
        cancel_url=cancel_url,
    )
    return PlanChange(checkout_url=url)
