"""Workspaces: the orchestration layer. A workspace is a tenant (schema, hosts, status) plus its people and its log.

Every function here checks who may act (`_authorize`: the permission matrix for members, a Django model permission
for platform operators, nobody else), runs the tenancy core's change and its audit entry in one transaction, and
queues side effects after commit. Signup, the `tenant` command, the admin, the workspace's own pages (and, later,
the superadmin and billing) all call these, so none of them can skip a rule or an audit entry.

`acting_user=None` is the platform itself: the command line and scheduled tasks.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from billing import entitlements as billing_entitlements
from billing import plans
from billing import selectors as billing_selectors
from billing import services as billing_services
from billing.models import BillingAccount
from billing.plans import Interval, Resource
from billing.tasks import trial_start
from shared_apps.accounts.models import Membership, Role, User
from shared_apps.accounts.permissions import MATRIX, Action, NotAllowed, can
from shared_apps.accounts.selectors import seats_used
from shared_apps.accounts.services import invitations_restore, membership_create, user_get_or_create
from shared_apps.accounts.services.members import role_of
from shared_apps.core.context import current
from shared_apps.core.errors import ApplicationError
from shared_apps.core.text import has_control_characters
from shared_apps.core.transactions import enqueue_on_commit
from shared_apps.storage import accounting
from shared_apps.storage import purge as storage_purge
from shared_apps.storage.backends import files
from shared_apps.workspaces.models import OperatorAction, OperatorLogEntry
from tenant_apps.audit.actions import AuditAction
from tenant_apps.audit.services import audit_record
from tenant_apps.projects.models import Project
from tenants import lifecycle, restore, selectors
from tenants import services as tenancy
from tenants.errors import DomainTaken, SubdomainTaken, TenantError
from tenants.models import PUBLIC_SCHEMA, Domain, Tenant, TenantStatus
from tenants.provisioning import Method
from tenants.services import Transition
from tenants.tasks import pool_refill
from tenants.validators import validate_subdomain

logger = logging.getLogger(__name__)


class OperatorPermission:
    """The Django model permissions that let a platform operator act on workspaces they do not belong to."""

    VIEW = "tenants.view_tenant"
    ADD = "tenants.add_tenant"  # create workspaces beyond the self-service cap
    CHANGE = "tenants.change_tenant"  # suspend, resume, rename, domains, export
    DELETE = "tenants.delete_tenant"  # schedule deletion, restore, delete now, purge


def is_operator_with(user: object, permission: str) -> bool:
    """An active staff account holding `permission` (superusers hold every permission). Staff status alone is not
    enough: operators get exactly the rights their Django permissions give them."""
    return isinstance(user, User) and user.is_active and user.is_staff and user.has_perm(permission)


def _authorize(
    *, tenant: Tenant, acting_user: User | None, operator_permission: str, member_action: Action | None, verb: str
) -> bool:
    """Whether `acting_user` may act (NotAllowed if not). True when they act as a platform operator: the change then
    needs a reason and goes into the operator log too."""
    if acting_user is None:
        return False
    if is_operator_with(acting_user, operator_permission):
        return True
    if member_action is None:
        raise NotAllowed(f"Only platform operators can {verb} {tenant.name}.")
    if can(role_of(tenant_id=tenant.pk, user=acting_user), member_action):
        return False
    who = "an owner" if MATRIX[member_action] == {Role.OWNER} else "an owner or admin"
    raise NotAllowed(f"Only {who} of {tenant.name} can {verb} it.")


class ReasonRequired(ApplicationError):
    """An operator's change without a usable reason."""


REASON_MAX = 500


def operator_reason(reason: str) -> str:
    """The reason an operator gives for a change, checked: required, one line, at most REASON_MAX characters."""
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired("Give a reason: it goes into the operator log and the workspace's audit log.")
    if len(reason) > REASON_MAX:
        raise ReasonRequired(f"Keep the reason under {REASON_MAX} characters.")
    if has_control_characters(reason):
        raise ReasonRequired("The reason cannot contain line breaks or control characters.")
    return reason


def operator_log_record(
    *,
    operator: User,
    action: OperatorAction,
    reason: str,
    tenant: Tenant | None = None,
    target_user: User | None = None,
    metadata: dict[str, Any] | None = None,
) -> OperatorLogEntry:
    """Append to the public operator log (inside the caller's transaction): who, what, why, to what, from where."""
    context = current()
    return OperatorLogEntry.objects.create(
        operator=operator,
        operator_label=operator.email[:254],
        action=action,
        tenant_id=tenant.pk if tenant is not None else None,
        tenant_name=(tenant.name if tenant is not None else "")[:100],
        target_user=target_user,
        target_label=(target_user.email if target_user is not None else "")[:254],
        reason=reason,
        metadata=metadata or {},
        ip_address=context.ip,
        user_agent=context.user_agent,
    )


def _actor_label(acting_user: User | None) -> str:
    return acting_user.email if acting_user is not None else "system"


# ---------------------------------------------------------------------------------------------------------------------
# Creation
# ---------------------------------------------------------------------------------------------------------------------


def workspace_create(
    *,
    slug: str,
    name: str,
    owner_email: str,
    owner_password: str | None = None,
    acting_user: User | None = None,
    method: Method = Method.AUTO,
) -> tuple[Tenant, User]:
    """Create a workspace at <slug>.<BASE_DOMAIN> with its owner, in one transaction.

    A failure at any step leaves no tenant row, no domain, no membership and no schema — or, for a pool claim, the
    spare as it was. Two signups racing for one subdomain: the unique index on the domain decides, the loser gets
    SubdomainTaken. After commit: the welcome task (onboarding project + email) and a pool refill are queued.
    """
    slug = validate_subdomain(slug)
    taken = SubdomainTaken(f"The subdomain “{slug}” is taken.")
    with schema_context(PUBLIC_SCHEMA), tenancy.domain_conflicts_as(taken), transaction.atomic():
        if acting_user is not None and not is_operator_with(acting_user, OperatorPermission.ADD):
            _ensure_below_ownership_cap(acting_user)
        tenant, via = tenancy.tenant_provision(slug=slug, name=name, method=method)
        owner, _ = user_get_or_create(email=owner_email, password=owner_password)
        membership_create(user=owner, tenant=tenant, role=Role.OWNER)
        audit_record(
            tenant=tenant,
            action=AuditAction.TENANT_CREATED,
            actor=acting_user,
            target=tenant,
            metadata={"subdomain": slug, "owner": owner.email, "provisioned_via": str(via)},
        )
        from shared_apps.workspaces.tasks import workspace_welcome  # noqa: PLC0415  (the tasks import these services)

        enqueue_on_commit(workspace_welcome, schema_name=tenant.schema_name, owner_email=owner.email)
        # Every new workspace starts a trial, without a card.

        enqueue_on_commit(trial_start, schema_name=PUBLIC_SCHEMA, tenant_id=tenant.pk)
        if settings.TENANT_POOL_SIZE > 0:
            enqueue_on_commit(pool_refill, schema_name=PUBLIC_SCHEMA)
    logger.info("workspace created", extra={"tenant": tenant.schema_name, "subdomain": slug, "via": str(via)})
    return tenant, owner


class WorkspaceLimitReached(ApplicationError):
    """An account owns as many workspaces as one account may (WORKSPACES_PER_OWNER_MAX)."""


def _ensure_below_ownership_cap(user: User) -> None:
    """Self-service creation stops at WORKSPACES_PER_OWNER_MAX owned workspaces. The account's row is locked first,
    so two creations at once cannot both take the last one."""
    User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True).first()
    owned = Membership.objects.filter(user=user, role=Role.OWNER, tenant__in=selectors.workspaces()).count()
    limit = settings.WORKSPACES_PER_OWNER_MAX
    if owned >= limit:
        raise WorkspaceLimitReached(
            f"You already own {owned} workspace{'s' if owned != 1 else ''}, the most one account can own. "
            "Delete one you no longer use, or ask us to raise the limit.",
            extra={"owned": owned, "limit": limit},
        )


# ---------------------------------------------------------------------------------------------------------------------
# Status
# ---------------------------------------------------------------------------------------------------------------------


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


def _status_change(*, tenant: Tenant, transition: Transition, acting_user: User | None, reason: str = "") -> Tenant:
    """Check who acts against STATUS_RULES, apply the tenancy core's transition table, and audit it, in one
    transaction."""
    rule = STATUS_RULES[transition]
    as_operator = _authorize(
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
    return _status_change(tenant=tenant, transition=Transition.SUSPEND, acting_user=acting_user, reason=reason)


def workspace_resume(*, tenant: Tenant, acting_user: User | None, reason: str = "") -> Tenant:
    return _status_change(tenant=tenant, transition=Transition.RESUME, acting_user=acting_user, reason=reason)


def workspace_schedule_deletion(*, tenant: Tenant, acting_user: User | None, reason: str = "") -> Tenant:
    """Start the grace period (TENANT_DELETION_GRACE_DAYS): the workspace answers 410 and can be restored."""
    return _status_change(
        tenant=tenant, transition=Transition.SCHEDULE_DELETION, acting_user=acting_user, reason=reason
    )


def workspace_restore(*, tenant: Tenant, acting_user: User | None, reason: str = "") -> Tenant:
    """Cancel a scheduled deletion: the workspace returns to the status it had before."""
    return _status_change(tenant=tenant, transition=Transition.RESTORE, acting_user=acting_user, reason=reason)


# ---------------------------------------------------------------------------------------------------------------------
# Billing: the subscription drives the workspace's state; plan changes checked against what the workspace uses
# ---------------------------------------------------------------------------------------------------------------------

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
    target = billing_selectors.workspace_state_for(account, now=now)
    if target is None or tenant.status == target:
        return None
    transition = _BILLING_TRANSITIONS[target]
    if tenant.status not in tenancy.TRANSITIONS[transition][0]:
        return None
    return _status_change(
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
        raise billing_services.BillingError("Choose one of the plans on the pricing page.")
    _authorize(
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


# ---------------------------------------------------------------------------------------------------------------------
# Domains
# ---------------------------------------------------------------------------------------------------------------------


def workspace_rename(*, tenant: Tenant, name: str, acting_user: User | None) -> Tenant:
    """Give the workspace a new display name (owners; operators with the change permission)."""
    _authorize(
        tenant=tenant,
        acting_user=acting_user,
        operator_permission=OperatorPermission.CHANGE,
        member_action=Action.WORKSPACE_MANAGE,
        verb="rename",
    )
    with schema_context(PUBLIC_SCHEMA), transaction.atomic():
        renamed, previous = tenancy.tenant_rename(tenant=tenant, name=name)
        audit_record(
            tenant=renamed,
            action=AuditAction.TENANT_RENAMED,
            actor=acting_user,
            target=renamed,
            metadata={"from": previous, "to": renamed.name},
        )
    return renamed


def workspace_rename_subdomain(*, tenant: Tenant, new_slug: str, acting_user: User | None) -> Domain:
    """Move the workspace to <new_slug>.<BASE_DOMAIN>; the old host redirects for TENANT_RENAME_REDIRECT_DAYS."""
    _authorize(
        tenant=tenant,
        acting_user=acting_user,
        operator_permission=OperatorPermission.CHANGE,
        member_action=Action.WORKSPACE_MANAGE,
        verb="move",
    )
    taken = SubdomainTaken(f"The subdomain “{new_slug.strip().lower()}” is taken.")
    with schema_context(PUBLIC_SCHEMA), tenancy.domain_conflicts_as(taken), transaction.atomic():
        rename = tenancy.tenant_rename_subdomain(tenant=tenant, new_slug=new_slug)
        audit_record(
            tenant=rename.tenant,
            action=AuditAction.TENANT_SUBDOMAIN_RENAMED,
            actor=acting_user,
            target=rename.tenant,
            metadata={
                "from": rename.old_host,
                "to": rename.domain.domain,
                "redirect_until": rename.redirect_until.isoformat() if rename.redirect_until else "",
            },
        )
    return rename.domain


def workspace_domain_add(*, tenant: Tenant, domain: str, acting_user: User | None) -> Domain:
    """Attach a custom domain (served as the workspace, never primary: links keep using the subdomain)."""
    _authorize(
        tenant=tenant,
        acting_user=acting_user,
        operator_permission=OperatorPermission.CHANGE,
        member_action=Action.DOMAINS_MANAGE,
        verb="add a domain to",
    )
    taken = DomainTaken(f"{domain.strip().lower().rstrip('.')} is already in use.")
    with schema_context(PUBLIC_SCHEMA), tenancy.domain_conflicts_as(taken), transaction.atomic():
        created = tenancy.domain_add(tenant=tenant, domain=domain)
        audit_record(
            tenant=created.tenant,
            action=AuditAction.TENANT_DOMAIN_ADDED,
            actor=acting_user,
            target=created.tenant,
            metadata={"domain": created.domain},
        )
    return created


def workspace_domain_remove(*, tenant: Tenant, domain: str, acting_user: User | None) -> None:
    """Detach a custom domain (or end an old subdomain's redirect early). The primary host cannot be removed."""
    _authorize(
        tenant=tenant,
        acting_user=acting_user,
        operator_permission=OperatorPermission.CHANGE,
        member_action=Action.DOMAINS_MANAGE,
        verb="remove a domain from",
    )
    with schema_context(PUBLIC_SCHEMA), transaction.atomic():
        host = tenancy.domain_remove(tenant=tenant, domain=domain)
        audit_record(
            tenant=tenant,
            action=AuditAction.TENANT_DOMAIN_REMOVED,
            actor=acting_user,
            target=tenant,
            metadata={"domain": host},
        )


def domains_expire_redirects() -> int:
    """Release old subdomains whose redirect grace period is over (beat). Returns how many."""
    expired = selectors.redirect_domains_expired()
    with schema_context(PUBLIC_SCHEMA):
        for row in expired:
            with transaction.atomic():
                host, tenant = row.domain, row.tenant
                tenancy.domain_release(domain=row)
                if selectors.workspaces().filter(pk=tenant.pk).exists():
                    audit_record(
                        tenant=tenant,
                        action=AuditAction.TENANT_REDIRECT_EXPIRED,
                        actor=None,
                        target=tenant,
                        metadata={"domain": host},
                    )
    return len(expired)


# ---------------------------------------------------------------------------------------------------------------------
# Deletion, purge, export
# ---------------------------------------------------------------------------------------------------------------------


def workspace_delete(*, tenant: Tenant, acting_user: User | None) -> None:
    """Delete a workspace now: its schema (all its data), domains, memberships and invitations. Cannot be undone;
    the public `TenantEvent` log keeps the record."""
    _authorize(
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
            actor_label=_actor_label(acting_user),
            metadata={"members": Membership.objects.filter(tenant=tenant).count()},
        )


def workspace_purge(
    *, tenant: Tenant, acting_user: User | None, progress: storage_purge.Progress | None = None
) -> None:
    """Purge a workspace scheduled for deletion: drop its schema, then (after commit) its files, in batches, and its
    cache entries; `progress` hears after each batch of files. The public `TenantEvent` keeps the record (the
    workspace's own audit log goes with its schema)."""
    _authorize(
        tenant=tenant,
        acting_user=acting_user,
        operator_permission=OperatorPermission.DELETE,
        member_action=None,
        verb="purge",
    )
    with schema_context(PUBLIC_SCHEMA), transaction.atomic():
        locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
        if locked.status != TenantStatus.SCHEDULED_DELETION:
            raise TenantError(f"{locked.name} is not scheduled for deletion; schedule it first (schedule-deletion).")
        due = locked.deletion_scheduled_at
        tenancy.tenant_destroy(
            tenant=locked,
            action="tenant.purged",
            actor_id=acting_user.pk if acting_user else None,
            actor_label=_actor_label(acting_user),
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


def workspace_export(*, tenant: Tenant, acting_user: User | None, output: Path | None = None, reason: str = "") -> Path:
    """Write an archive of the workspace (pg_dump of its schema, its files, a JSON manifest with its members) and
    audit it."""
    as_operator = _authorize(
        tenant=tenant,
        acting_user=acting_user,
        operator_permission=OperatorPermission.CHANGE,
        member_action=None,
        verb="export",
    )
    if as_operator:
        reason = operator_reason(reason)
    if not selectors.workspaces().filter(pk=tenant.pk).exists():
        raise TenantError(f"{tenant.name} is not a workspace.")
    members = [
        {"email": m.user.email, "role": m.role}
        for m in Membership.objects.filter(tenant=tenant).select_related("user").order_by("created_at")
    ]
    archive = lifecycle.tenant_archive_write(
        tenant=tenant, output=output, members=members, references=_references_named(tenant.schema_name)
    )
    details: dict[str, Any] = {"archive": archive.name, "bytes": archive.stat().st_size}
    with schema_context(PUBLIC_SCHEMA), transaction.atomic():
        if as_operator and acting_user is not None:
            details.update(reason=reason, operator=True)
            operator_log_record(
                operator=acting_user,
                action=OperatorAction.WORKSPACE_EXPORTED,
                reason=reason,
                tenant=tenant,
                metadata={"archive": archive.name, "bytes": details["bytes"]},
            )
        audit_record(
            tenant=tenant, action=AuditAction.TENANT_EXPORTED, actor=acting_user, target=tenant, metadata=details
        )
    return archive


# ---------------------------------------------------------------------------------------------------------------------
# Import (restore an export into a new workspace)
# ---------------------------------------------------------------------------------------------------------------------

# The shared (public) rows a workspace's rows point at, named by a key that means the same in another database. An id
# an archive does not name this way means nothing here: the import clears it (or leaves out the row that needs it).
_NATURAL_KEYS: dict[str, tuple[Callable[[set[int]], dict[int, str]], Callable[[list[str]], dict[str, int]]]] = {}


def _natural_keys() -> dict[str, tuple[Callable[[set[int]], dict[int, str]], Callable[[list[str]], dict[str, int]]]]:

    if _NATURAL_KEYS:
        return _NATURAL_KEYS

    def users_named(ids: set[int]) -> dict[int, str]:
        return dict(User.objects.filter(pk__in=ids).values_list("pk", "email"))

    def users_found(emails: list[str]) -> dict[str, int]:
        rows = User.objects.annotate(e=Lower("email")).filter(e__in=[e.lower() for e in emails])
        return {email: pk for pk, email in rows.values_list("pk", "e")}

    def types_named(ids: set[int]) -> dict[int, str]:
        return {ct.pk: f"{ct.app_label}.{ct.model}" for ct in ContentType.objects.filter(pk__in=ids)}

    def types_found(names: list[str]) -> dict[str, int]:
        return {f"{ct.app_label}.{ct.model}": ct.pk for ct in ContentType.objects.all()}

    def perms_named(ids: set[int]) -> dict[int, str]:
        rows = Permission.objects.filter(pk__in=ids).values_list("pk", "content_type__app_label", "codename")
        return {pk: f"{app}.{codename}" for pk, app, codename in rows}

    def perms_found(names: list[str]) -> dict[str, int]:
        rows = Permission.objects.values_list("pk", "content_type__app_label", "codename")
        return {f"{app}.{codename}": pk for pk, app, codename in rows}

    def groups_named(ids: set[int]) -> dict[int, str]:
        return dict(Group.objects.filter(pk__in=ids).values_list("pk", "name"))

    def groups_found(names: list[str]) -> dict[str, int]:
        return {name: pk for pk, name in Group.objects.filter(name__in=names).values_list("pk", "name")}

    _NATURAL_KEYS.update(
        {
            User._meta.db_table: (users_named, users_found),
            ContentType._meta.db_table: (types_named, types_found),
            Permission._meta.db_table: (perms_named, perms_found),
            Group._meta.db_table: (groups_named, groups_found),
        }
    )
    return _NATURAL_KEYS


def _references_named(schema: str) -> dict[str, dict[str, str]]:
    """Which accounts, content types and permissions the workspace's rows point at, by email / app.model /
    app.codename (written into the export's manifest)."""
    named: dict[str, dict[str, str]] = {}
    keys = _natural_keys()
    for table, ids in lifecycle.public_ids_referenced(schema).items():
        if table in keys:
            named[table] = {str(pk): name for pk, name in keys[table][0](ids).items()}
    return named


def _references_found(references: dict[str, dict[str, str]]) -> dict[str, dict[int, int | None]]:
    """The archive's ids of shared rows → this database's (None where there is no such row here)."""
    remaps: dict[str, dict[int, int | None]] = {}
    keys = _natural_keys()
    for table, named in references.items():
        if table not in keys:
            continue
        found = keys[table][1](list(named.values()))
        lookup = {k.lower(): v for k, v in found.items()} if table == User._meta.db_table else found
        remaps[table] = {
            int(pk): lookup.get(name.lower() if table == User._meta.db_table else name)
            for pk, name in named.items()
            if pk.isdigit()
        }
    return remaps


@dataclass(frozen=True)
class ImportResult:
    tenant: Tenant
    rows: int
    files: int
    files_bytes: int
    members: list[str]
    invited: list[str]


def workspace_import(
    *,
    archive: Path,
    slug: str,
    acting_user: User | None = None,
    name: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> ImportResult:
    """Restore an export archive into a new workspace at <slug>: a fresh opaque schema holding the archive's rows with
    their ids, the members re-linked to the accounts here by email (those without an account are invited, with their
    role), the files copied under the new workspace's prefix. The archive is checked end to end before anything is
    written; a failure at any step leaves no schema, no workspace row and no file."""

    say = progress or (lambda _line: None)
    if acting_user is not None and not is_operator_with(acting_user, OperatorPermission.ADD):
        raise NotAllowed("Only platform operators can import a workspace.")
    slug = validate_subdomain(slug)
    if Domain.objects.filter(domain=selectors.host_for_slug(slug)).exists():
        raise SubdomainTaken(f"The subdomain “{slug}” is taken.")
    with tempfile.TemporaryDirectory(prefix="atrium-import-") as tmp:
        say(f"Checking {archive.name} …")
        checked = restore.archive_check(archive, workdir=Path(tmp), progress=say)
        manifest = checked.manifest
        written: list[str] = []
        taken = SubdomainTaken(f"The subdomain “{slug}” is taken.")
        try:
            with schema_context(PUBLIC_SCHEMA), tenancy.domain_conflicts_as(taken), transaction.atomic():
                tenant, via = tenancy.tenant_provision(slug=slug, name=name or manifest["tenant"]["name"])
                say(f"Schema {tenant.schema_name} ready ({via}); loading rows …")
                rows = restore.schema_data_load(
                    checked=checked,
                    schema=tenant.schema_name,
                    remaps=_references_found(manifest.get("references", {})),
                    progress=say,
                )
                members, invited = _members_relink(tenant, manifest.get("members", []), invitations_restore)
                say(f"Members: {len(members)} re-linked, {len(invited)} invited")
                say(f"Copying {len(checked.files)} file(s) …")
                copied = restore.archive_files_copy(
                    checked=checked, schema=tenant.schema_name, written=written, progress=say
                )
                if checked.files:
                    accounting.add_stored(tenant.schema_name, nbytes=copied, objects=len(checked.files))
                audit_record(
                    tenant=tenant,
                    action=AuditAction.TENANT_IMPORTED,
                    actor=acting_user,
                    target=tenant,
                    metadata={
                        "archive": archive.name,
                        "source_schema": checked.source_schema,
                        "exported_at": str(manifest.get("exported_at", "")),
                        "rows": sum(rows.values()),
                        "files": len(checked.files),
                        "members": len(members),
                        "invited": len(invited),
                    },
                )

                enqueue_on_commit(trial_start, schema_name=PUBLIC_SCHEMA, tenant_id=tenant.pk)
        except BaseException:
            if written:
                files().delete_many(written)
            raise
    logger.info(
        "workspace imported", extra={"tenant": tenant.schema_name, "subdomain": slug, "source": checked.source_schema}
    )
    return ImportResult(
        tenant=tenant,
        rows=sum(rows.values()),
        files=len(checked.files),
        files_bytes=copied,
        members=members,
        invited=invited,
    )


def _members_relink(
    tenant: Tenant, listed: list[dict[str, str]], invite: Callable[..., list[Any]]
) -> tuple[list[str], list[str]]:
    """Each member of the archive becomes a member again when an account with that email exists here; the others are
    invited with their role."""
    members: list[str] = []
    missing: list[tuple[str, str]] = []
    for entry in listed:
        email, role = entry["email"], entry["role"] if entry["role"] in Role.values else Role.MEMBER
        user = User.objects.filter(email__iexact=email.strip()).first()
        if user is None:
            missing.append((email, role))
            continue
        if not Membership.objects.filter(user=user, tenant=tenant).exists():
            membership_create(user=user, tenant=tenant, role=role)
            members.append(user.email)
    invited = [inv.email for inv in invite(tenant=tenant, invites=missing)] if missing else []
    return members, invited
