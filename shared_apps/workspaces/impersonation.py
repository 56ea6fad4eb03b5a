"""Impersonation: a platform operator sees a workspace as one of its members, on the login handoff's rails.

The flow (every step refuses with a message, and changes nothing, when a rule does not hold):

1. In the admin (root domain), an operator — staff, `workspaces.impersonate_member`, two-factor authentication on,
   re-authenticated within ACCOUNT_REAUTHENTICATION_TIMEOUT — picks a member and gives a reason:
   `impersonation_begin` records the session (at most IMPERSONATION_MAX_MINUTES long, counted from now).
2. The browser goes to the workspace host's `/auth/impersonate/start/`, which sets the handoff's binding cookie, then
   back to the admin, where `impersonation_ticket` mints a single-use handoff ticket (purpose "impersonation", valid
   IMPERSONATION_TICKET_MAX_AGE ≤ 60 s) bound to that cookie.
3. The workspace host redeems it (`/auth/impersonate/`) in that browser only, and `impersonation_activate` starts
   the session there: the member's account in a session of its own, without Django's login signal — so the member's
   `last_login` is untouched, no sign-in is recorded for them and their session list does not grow. Start is recorded
   in the operator log and the workspace's audit log ("Atrium staff signed in as a member"), and the workspace's
   owners are emailed (unless IMPERSONATION_NOTIFY_OWNERS is off).

While it lasts, `ImpersonationMiddleware` shows a banner on every page, refuses every write until the operator steps
up (`impersonation_writes_enable`: its own permission, re-authentication and reason, recorded), keeps the member's
account pages (password, two-factor, email addresses, sessions, API keys) out of reach, and ends the session at its
time limit. Ending it (or its expiry) is recorded and returns the operator to the admin. Staff and superuser accounts
are never impersonated.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context

from shared_apps.accounts import handoff
from shared_apps.accounts.models import LoginHandoff, Membership, Role, User
from shared_apps.accounts.permissions import NotAllowed
from shared_apps.accounts.selectors import membership_for, user_has_mfa
from shared_apps.core.errors import ApplicationError
from shared_apps.core.transactions import enqueue_on_commit
from shared_apps.workspaces.models import ImpersonationEnd, ImpersonationSession, OperatorAction
from shared_apps.workspaces.services import is_operator_with, operator_log_record, operator_reason
from tenant_apps.audit.actions import AuditAction
from tenant_apps.audit.services import audit_record
from tenants.models import PUBLIC_SCHEMA, Tenant
from tenants.selectors import workspaces

logger = logging.getLogger(__name__)

PERMISSION = "workspaces.impersonate_member"
WRITES_PERMISSION = "workspaces.impersonate_with_writes"


class ImpersonationRefused(ApplicationError):
    """This impersonation cannot start or go on (the message says why)."""


def operator_may_impersonate(operator: object, *, writes: bool = False) -> None:
    """NotAllowed unless `operator` is active staff holding the impersonation permission (and, for `writes`, the
    step-up one) with two-factor authentication on."""
    if not is_operator_with(operator, PERMISSION):
        raise NotAllowed(_("Your operator account has no permission to sign in as members."))
    if writes and not is_operator_with(operator, WRITES_PERMISSION):
        raise NotAllowed(_("Your operator account has no permission to make changes as a member."))
    assert isinstance(operator, User)  # noqa: S101  (is_operator_with checked it)
    if not user_has_mfa(user=operator):
        raise NotAllowed(_("Turn on two-factor authentication for your operator account first."))


def _check_target(*, tenant: Tenant, member: User) -> None:
    if member.is_staff or member.is_superuser:
        raise ImpersonationRefused(
            _("%(email)s is a platform operator's account: operators are never impersonated.") % {"email": member.email}
        )
    if not member.is_active:
        raise ImpersonationRefused(_("%(email)s is deactivated.") % {"email": member.email})
    if membership_for(user_id=member.pk, tenant_id=tenant.pk) is None:
        raise ImpersonationRefused(
            _("%(email)s is not a member of %(name)s.") % {"email": member.email, "name": tenant.name}
        )


def impersonation_begin(*, operator: User, tenant: Tenant, member: User, reason: str) -> ImpersonationSession:
    """Step 1: record an operator's intent to see `tenant` as `member`, with the reason. Nothing happens in the
    workspace until the ticket is redeemed there."""
    operator_may_impersonate(operator)
    reason = operator_reason(reason)
    if not workspaces().filter(pk=tenant.pk).exists():
        raise ImpersonationRefused(_("%(name)s is not a workspace.") % {"name": tenant.name})
    _check_target(tenant=tenant, member=member)
    minutes = min(int(settings.IMPERSONATION_MAX_MINUTES), 30)
    return ImpersonationSession.objects.create(
        operator=operator,
        operator_label=operator.email[:254],
        member=member,
        tenant=tenant,
        reason=reason,
        expires_at=timezone.now() + timedelta(minutes=minutes),
    )


def _session_for_operator(*, operator: User, session_id: str, lock: bool = False) -> ImpersonationSession:
    try:
        key = uuid.UUID(str(session_id))
    except ValueError as exc:
        raise ImpersonationRefused(_("There is no such impersonation.")) from exc
    sessions = ImpersonationSession.objects.select_related("tenant", "member")
    if lock:
        sessions = sessions.select_for_update(of=("self",))
    session = sessions.filter(pk=key, operator=operator).first()
    if session is None:
        raise ImpersonationRefused(_("There is no such impersonation."))
    return session


@transaction.atomic
def impersonation_ticket(*, operator: User, session_id: str, binding: str) -> str:
    """Step 2: the single-use ticket URL for the session's workspace host, bound to the operator's browser (the hash
    of the cookie `/auth/impersonate/start/` set). One ticket per session."""
    operator_may_impersonate(operator)
    session = _session_for_operator(operator=operator, session_id=session_id, lock=True)
    if session.handoff_id is not None or session.started_at is not None:
        raise ImpersonationRefused(_("This impersonation link was already used. Start a new one from the admin."))
    if not session.is_live():
        raise ImpersonationRefused(_("This impersonation expired before it started. Start a new one from the admin."))
    _check_target(tenant=session.tenant, member=session.member)
    row, url = handoff.handoff_ticket(
        user=session.member,
        tenant=session.tenant,
        binding=binding,
        next_path="/",
        purpose=LoginHandoff.Purpose.IMPERSONATION,
    )
    session.handoff = row
    session.save(update_fields=["handoff"])
    return url


def impersonation_activate(*, ticket: LoginHandoff) -> ImpersonationSession:
    """Step 3, on the workspace host, after the ticket was redeemed in the right browser: start the session and record
    it (operator log, the workspace's audit log, the owners' email)."""
    with schema_context(PUBLIC_SCHEMA), transaction.atomic():
        session = (
            ImpersonationSession.objects.select_for_update(of=("self",))
            .select_related("tenant", "member", "operator")
            .filter(handoff=ticket)
            .first()
        )
        if session is None or session.started_at is not None:
            raise ImpersonationRefused(_("This impersonation link is not valid."))
        now = timezone.now()
        if not session.is_live(now):
            raise ImpersonationRefused(_("This impersonation expired before it started."))
        if session.operator is None:
            raise ImpersonationRefused(_("The operator's account is gone."))
        operator_may_impersonate(session.operator)
        _check_target(tenant=session.tenant, member=session.member)
        session.started_at = now
        session.save(update_fields=["started_at"])
        details = {
            "member": session.member.email,
            "reason": session.reason,
            "expires_at": session.expires_at.isoformat(),
            "session": str(session.pk),
        }
        operator_log_record(
            operator=session.operator,
            action=OperatorAction.IMPERSONATION_STARTED,
            reason=session.reason,
            tenant=session.tenant,
            target_user=session.member,
            metadata=details,
        )
        audit_record(
            tenant=session.tenant,
            action=AuditAction.IMPERSONATION_STARTED,
            actor=session.operator,
            target=session.member,
            metadata={**details, "operator": True},
        )
        if settings.IMPERSONATION_NOTIFY_OWNERS:
            from shared_apps.workspaces.tasks import impersonation_notify_owners  # noqa: PLC0415  (the tasks import this module)

            enqueue_on_commit(impersonation_notify_owners, schema_name=PUBLIC_SCHEMA, session_id=str(session.pk))
    logger.info("impersonation started", extra={"session": str(session.pk), "tenant": session.tenant.schema_name})
    return session


def impersonation_writes_enable(*, operator: User, session_id: str, reason: str) -> ImpersonationSession:
    """The step-up: let a running impersonation make changes, with a reason of its own, recorded like the start."""
    operator_may_impersonate(operator, writes=True)
    reason = operator_reason(reason)
    with schema_context(PUBLIC_SCHEMA), transaction.atomic():
        session = _session_for_operator(operator=operator, session_id=session_id, lock=True)
        if session.started_at is None or not session.is_live():
            raise ImpersonationRefused(_("This impersonation is not running."))
        if session.writes_enabled_at is not None:
            return session
        session.writes_enabled_at = timezone.now()
        session.writes_reason = reason
        session.save(update_fields=["writes_enabled_at", "writes_reason"])
        details = {"member": session.member.email, "session": str(session.pk)}
        operator_log_record(
            operator=operator,
            action=OperatorAction.IMPERSONATION_WRITES_ENABLED,
            reason=reason,
            tenant=session.tenant,
            target_user=session.member,
            metadata=details,
        )
        audit_record(
            tenant=session.tenant,
            action=AuditAction.IMPERSONATION_WRITES_ENABLED,
            actor=operator,
            target=session.member,
            metadata={**details, "reason": reason, "operator": True},
        )
    return session


def impersonation_end(
    *, session: ImpersonationSession, why: ImpersonationEnd, acting_user: User | None = None
) -> ImpersonationSession:
    """End a session (idempotent) and, if it had started, record the end in both logs. `acting_user`: another
    operator ending it from the admin (the session's own operator otherwise)."""
    with schema_context(PUBLIC_SCHEMA), transaction.atomic():
        locked = (
            ImpersonationSession.objects.select_for_update(of=("self",))
            .select_related("tenant", "member", "operator")
            .get(pk=session.pk)
        )
        if locked.ended_at is not None:
            return locked
        now = timezone.now()
        locked.ended_at = min(now, locked.expires_at) if why == ImpersonationEnd.EXPIRED else now
        locked.end_reason = why
        locked.save(update_fields=["ended_at", "end_reason"])
        if locked.started_at is None:
            return locked
        actor = acting_user or locked.operator
        details = {
            "member": locked.member.email,
            "session": str(locked.pk),
            "how": str(ImpersonationEnd(why).label),
            "minutes": round((locked.ended_at - locked.started_at).total_seconds() / 60, 1),
            "operator_label": locked.operator_label,
        }
        if actor is not None:
            operator_log_record(
                operator=actor,
                action=OperatorAction.IMPERSONATION_ENDED,
                reason=str(ImpersonationEnd(why).label),
                tenant=locked.tenant,
                target_user=locked.member,
                metadata=details,
            )
        audit_record(
            tenant=locked.tenant,
            action=AuditAction.IMPERSONATION_ENDED,
            actor=actor,
            target=locked.member,
            metadata={**details, "operator": True},
        )
    logger.info("impersonation ended", extra={"session": str(locked.pk), "why": str(why)})
    return locked


def impersonation_revoke(*, operator: User, session_id: str) -> ImpersonationSession:
    """End any operator's running impersonation from the admin (needs the impersonation permission)."""
    operator_may_impersonate(operator)
    try:
        key = uuid.UUID(str(session_id))
    except ValueError as exc:
        raise ImpersonationRefused(_("There is no such impersonation.")) from exc
    session = ImpersonationSession.objects.filter(pk=key).first()
    if session is None:
        raise ImpersonationRefused(_("There is no such impersonation."))
    return impersonation_end(session=session, why=ImpersonationEnd.REVOKED, acting_user=operator)


def impersonations_end_for_member(*, member: User) -> int:
    """End every running impersonation of `member` (their account was deactivated or signed out everywhere)."""
    live = list(ImpersonationSession.objects.filter(member=member, ended_at__isnull=True))
    for session in live:
        impersonation_end(session=session, why=ImpersonationEnd.INVALID)
    return len(live)


def impersonations_expire() -> int:
    """Record the end of every session past its time limit (beat, every minute; the middleware does it too on the
    next request). Returns how many."""
    due = list(ImpersonationSession.objects.filter(ended_at__isnull=True, expires_at__lte=timezone.now()))
    for session in due:
        impersonation_end(session=session, why=ImpersonationEnd.EXPIRED)
    return len(due)


def owners_to_notify(session: ImpersonationSession) -> list[str]:

    return list(
        Membership.objects.filter(tenant_id=session.tenant_id, role=Role.OWNER, user__is_active=True)
        .order_by("created_at")
        .values_list("user__email", flat=True)
    )
