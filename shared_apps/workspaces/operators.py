"""What platform operators do beyond a workspace's lifecycle: its trial and plan, and people's accounts.

Each function checks the operator's Django permission (never `is_staff` alone), needs a reason, and records the
change twice in one transaction: in the public operator log and in the audit log of every workspace concerned (a
person's account: every workspace they belong to). The admin's actions call these and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context

from billing import entitlements as billing_entitlements
from billing import plans
from billing import selectors as billing_selectors
from billing import services as billing_services
from billing.plans import Interval
from shared_apps.accounts import services as account_services
from shared_apps.accounts.models import Membership, User
from shared_apps.accounts.permissions import NotAllowed
from shared_apps.core.errors import ApplicationError
from shared_apps.workspaces.models import OperatorAction
from shared_apps.workspaces.services import (
    OperatorPermission,
    is_operator_with,
    operator_log_record,
    operator_reason,
    workspace_usage,
)
from tenant_apps.audit.actions import AuditAction
from tenant_apps.audit.services import audit_record
from tenants.models import PUBLIC_SCHEMA, Tenant, TenantStatus


class UserPermission:
    """The Django model permissions operators need to act on people's accounts."""

    VIEW = "accounts.view_user"
    # deactivate, reactivate, sign out everywhere, resend verification, send a password reset email; nobody sets a
    # password, and only superusers change an address (`user_email_change`)
    CHANGE = "accounts.change_user"


def _require(acting_user: User, permission: str, verb: str) -> None:
    if not is_operator_with(acting_user, permission):
        raise NotAllowed(_("Your operator account has no permission to %(verb)s.") % {"verb": verb})


# ---------------------------------------------------------------------------------------------------------------------
# A workspace's trial and plan
# ---------------------------------------------------------------------------------------------------------------------


def _record_on_workspace(
    *,
    tenant: Tenant,
    acting_user: User,
    reason: str,
    operator_action: OperatorAction,
    action: AuditAction,
    details: Mapping[str, object],
) -> None:
    """An operator's change to a workspace, recorded twice in one transaction: in the operator log and in the
    workspace's own audit log, flagged as an operator's, with the reason."""
    with schema_context(PUBLIC_SCHEMA), transaction.atomic():
        operator_log_record(
            operator=acting_user,
            action=operator_action,
            reason=reason,
            tenant=tenant,
            metadata=dict(details),
        )
        audit_record(
            tenant=tenant,
            action=action,
            actor=acting_user,
            target=tenant,
            metadata={**details, "reason": reason, "operator": True},
        )


def workspace_trial_extend(*, tenant: Tenant, days: int, acting_user: User, reason: str) -> Tenant:
    """Give a workspace in its trial `days` more (Stripe moves the trial's end; billing reads it back)."""
    _require(acting_user, OperatorPermission.CHANGE, "extend trials")
    reason = operator_reason(reason)
    before = billing_selectors.account_for(tenant_id=tenant.pk)
    billing_services.subscription_trial_extend(tenant=tenant, days=days)
    after = billing_selectors.account_for(tenant_id=tenant.pk)
    details = {
        "days": days,
        "from": before.trial_end.isoformat() if before and before.trial_end else "",
        "to": after.trial_end.isoformat() if after and after.trial_end else "",
    }
    _record_on_workspace(
        tenant=tenant,
        acting_user=acting_user,
        reason=reason,
        operator_action=OperatorAction.WORKSPACE_TRIAL_EXTENDED,
        action=AuditAction.BILLING_TRIAL_EXTENDED,
        details=details,
    )
    return tenant


def workspace_plan_set(
    *, tenant: Tenant, plan_code: str, interval: str, acting_user: User, reason: str
) -> billing_services.SyncResult:
    """Move a workspace's subscription (paying, or in its trial) to another plan, prorated, as an operator. Refused
    with the reasons when the workspace has outgrown the plan, as for its owners."""
    _require(acting_user, OperatorPermission.CHANGE, "change plans")
    reason = operator_reason(reason)
    plan = plans.plan_get(plan_code)
    if plan is None or interval not in Interval.__members__.values():
        raise billing_services.BillingError(_("Choose one of the plans on the pricing page."))
    outgrown = billing_entitlements.plan_outgrown(plan, workspace_usage(tenant))
    if outgrown:
        raise billing_services.PlanOutgrown(f"{tenant.name} cannot move to {plan.name}: " + "; ".join(outgrown) + ".")
    account = billing_selectors.account_for(tenant_id=tenant.pk)
    previous = account.plan if account else ""
    result = billing_services.subscription_plan_set(tenant=tenant, plan=plan, interval=Interval(interval))
    details = {"from": previous, "to": plan.code, "interval": interval}
    _record_on_workspace(
        tenant=tenant,
        acting_user=acting_user,
        reason=reason,
        operator_action=OperatorAction.WORKSPACE_PLAN_CHANGED,
        action=AuditAction.BILLING_PLAN_SET,
        details=details,
    )
    return result


# ---------------------------------------------------------------------------------------------------------------------
# People's accounts
# ---------------------------------------------------------------------------------------------------------------------


class AccountProtected(ApplicationError):
    """An operator may not do this to that account (their own, or a platform account above their rights)."""


def _check_target(*, user: User, acting_user: User, verb: str) -> None:
    if user.pk == acting_user.pk:
        raise AccountProtected(_("You cannot %(verb)s your own account.") % {"verb": verb})
    if (user.is_staff or user.is_superuser) and not acting_user.is_superuser:
        raise AccountProtected(
            _("Only a superuser can %(verb)s another operator's account (%(email)s).")
            % {"verb": verb, "email": user.email}
        )


def _workspaces_of(user: User) -> list[Tenant]:
    return [
        m.tenant
        for m in Membership.objects.filter(user=user)
        .exclude(tenant__status__in=[TenantStatus.TEMPLATE, TenantStatus.SPARE])
        .select_related("tenant")
    ]


@dataclass(frozen=True)
class AccountAction:
    """What an operator does to an account: the right it takes, how refusals word it, what the logs call it."""

    doing: str  # "deactivate accounts": for the refusal when the operator lacks the right
    verb: str  # "deactivate": for the refusal when the account is protected
    operator_action: OperatorAction
    audit_action: AuditAction


DEACTIVATE = AccountAction(
    "deactivate accounts", "deactivate", OperatorAction.USER_DEACTIVATED, AuditAction.ACCOUNT_DEACTIVATED
)
REACTIVATE = AccountAction(
    "reactivate accounts", "reactivate", OperatorAction.USER_REACTIVATED, AuditAction.ACCOUNT_REACTIVATED
)
SIGN_OUT = AccountAction(
    "sign accounts out", "sign out", OperatorAction.USER_SIGNED_OUT, AuditAction.ACCOUNT_SIGNED_OUT_EVERYWHERE
)
RESEND_VERIFICATION = AccountAction(
    "resend verification emails",
    "resend a verification for",
    OperatorAction.USER_VERIFICATION_SENT,
    AuditAction.ACCOUNT_VERIFICATION_SENT,
)
PASSWORD_RESET = AccountAction(
    "send password reset emails",
    "send a password reset for",
    OperatorAction.USER_PASSWORD_RESET_SENT,
    AuditAction.ACCOUNT_PASSWORD_RESET_SENT,
)
EMAIL_CHANGE = AccountAction(
    "change email addresses",
    "change the email address of",
    OperatorAction.USER_EMAIL_CHANGED,
    AuditAction.ACCOUNT_EMAIL_CHANGED,
)


def _on_account(
    rule: AccountAction, *, user: User, acting_user: User, reason: str, change: Callable[[], dict[str, object]]
) -> dict[str, object]:
    """Every operator action on an account, one way: check the right and the target, require a reason, then in one
    transaction make the change and record it in the operator log and in the audit log of each of the account's
    workspaces. Returns what `change` reported (also the entries' details)."""
    _require(acting_user, UserPermission.CHANGE, rule.doing)
    _check_target(user=user, acting_user=acting_user, verb=rule.verb)
    reason = operator_reason(reason)
    with schema_context(PUBLIC_SCHEMA), transaction.atomic():
        details = change()
        operator_log_record(
            operator=acting_user, action=rule.operator_action, reason=reason, target_user=user, metadata=details
        )
        for tenant in _workspaces_of(user):
            audit_record(
                tenant=tenant,
                action=rule.audit_action,
                actor=acting_user,
                target=user,
                metadata={**details, "reason": reason, "operator": True},
            )
    return details


def _end_sessions(ended: int, user: User) -> dict[str, object]:
    from shared_apps.workspaces.impersonation import impersonations_end_for_member  # noqa: PLC0415  (impersonation imports this module's neighbours (services))

    impersonations_end_for_member(member=user)
    return {"sessions_ended": ended}


def user_deactivate(*, user: User, acting_user: User, reason: str) -> int:
    """Stop an account from signing in anywhere: inactive, every session ended, any operator's impersonation of it
    ended. Returns the sessions ended."""
    details = _on_account(
        DEACTIVATE,
        user=user,
        acting_user=acting_user,
        reason=reason,
        change=lambda: _end_sessions(account_services.user_deactivate(user=user), user),
    )
    return int(details["sessions_ended"])  # type: ignore[call-overload]


def user_reactivate(*, user: User, acting_user: User, reason: str) -> None:
    def change() -> dict[str, object]:
        account_services.user_reactivate(user=user)
        return {}

    _on_account(REACTIVATE, user=user, acting_user=acting_user, reason=reason, change=change)


def user_sign_out_everywhere(*, user: User, acting_user: User, reason: str) -> int:
    """End every session of the account on every host (and any operator's impersonation of it). Returns how many."""
    details = _on_account(
        SIGN_OUT,
        user=user,
        acting_user=acting_user,
        reason=reason,
        change=lambda: _end_sessions(account_services.sessions_end_all(user=user), user),
    )
    return int(details["sessions_ended"])  # type: ignore[call-overload]


def _email_sent(rule: AccountAction, send: Callable[..., str], *, user: User, acting_user: User, reason: str) -> str:
    details = _on_account(
        rule, user=user, acting_user=acting_user, reason=reason, change=lambda: {"email": send(user=user)}
    )
    return str(details["email"])


def user_password_reset_send(*, user: User, acting_user: User, reason: str) -> str:
    """Email the account a link to choose a new password: what support does for someone locked out. No operator ever
    sets or learns a password. Returns the address."""
    return _email_sent(
        PASSWORD_RESET, account_services.password_reset_send, user=user, acting_user=acting_user, reason=reason
    )


def user_email_change(*, user: User, email: str, acting_user: User, reason: str) -> str:
    """Move an account to another address (superusers only: an address is the key to the account). The new address
    is unverified until its owner follows the link sent there, and the old one is told. Returns the new address."""
    if not (acting_user.is_active and acting_user.is_staff and acting_user.is_superuser):
        raise NotAllowed(_("Only a superuser can change an account's email address."))

    def change() -> dict[str, object]:
        old, new = account_services.user_email_change(user=user, email=email)
        return {"from": old, "to": new}

    details = _on_account(EMAIL_CHANGE, user=user, acting_user=acting_user, reason=reason, change=change)
    return str(details["to"])


def user_verification_resend(*, user: User, acting_user: User, reason: str) -> str:
    """Email the account's unverified primary address a link that verifies it. Returns the address."""
    return _email_sent(
        RESEND_VERIFICATION, account_services.email_verification_send, user=user, acting_user=acting_user, reason=reason
    )
