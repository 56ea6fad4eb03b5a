"""Writes about invitations: sending (seat-checked, all or nothing), resending, revoking, minting the emailed
token, and accepting one.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from shared_apps.accounts.errors import AccountError, InvitationUnusable, NotFound, SeatLimitReached
from shared_apps.accounts.hooks import seats_changed_on_commit
from shared_apps.accounts.models import Invitation, Membership, ReplacedInvitationToken, Role, User
from shared_apps.accounts.permissions import Action, require
from shared_apps.accounts.representations import invitation_data, member_data
from shared_apps.accounts.selectors import seat_limit, seats_used, user_get_by_email, user_has_verified_email
from shared_apps.accounts.services.members import role_of
from shared_apps.accounts.services.users import user_get_or_create
from shared_apps.core.text import has_control_characters
from shared_apps.core.transactions import enqueue_on_commit
from tenant_apps.audit.actions import AuditAction
from tenant_apps.audit.events import EventType, event_emit
from tenant_apps.audit.services import audit_record
from tenants.models import Tenant, TenantStatus


@dataclass
class InvitationsResult:
    created: list[Invitation] = field(default_factory=list)
    renewed: list[Invitation] = field(default_factory=list)  # expired invitations sent again
    already_members: list[str] = field(default_factory=list)
    already_invited: list[str] = field(default_factory=list)

    @property
    def sent(self) -> list[Invitation]:
        return self.created + self.renewed


def _max_age() -> timedelta:
    return timedelta(days=settings.INVITATION_MAX_AGE_DAYS)


def _unguessable_hash() -> str:
    """A token hash nobody holds the token for: a new invitation is not usable until its email is sent."""
    return Invitation.hash_token(secrets.token_urlsafe(32))


def normalise_emails(raw: list[str]) -> tuple[list[str], list[str]]:
    """(valid addresses lower-cased, deduplicated, in order; invalid entries as typed)."""
    valid: list[str] = []
    invalid: list[str] = []
    for item in raw:
        email = item.strip().strip(",;").strip().lower()
        if not email:
            continue
        try:
            validate_email(email)
        except ValidationError:
            invalid.append(item.strip())
            continue
        if email not in valid:
            valid.append(email)
    return valid, invalid


def _lock_workspace(tenant: Tenant) -> None:
    """Serialise seat checks of one workspace: two admins inviting at once cannot both take the last seat."""
    list(Tenant.objects.select_for_update().filter(pk=tenant.pk).values_list("pk", flat=True))


def _ensure_seats(tenant: Tenant, needed: int) -> None:
    if needed <= 0:
        return
    limit = seat_limit(tenant_id=tenant.pk)
    used = seats_used(tenant_id=tenant.pk)
    if used + needed > limit:
        free = max(limit - used, 0)
        asked = ngettext("%(n)s invitation", "%(n)s invitations", needed) % {"n": needed}
        free_seats = ngettext("%(n)s seat free", "%(n)s seats free", free) % {"n": free}
        raise SeatLimitReached(
            gettext(
                "%(name)s has %(limit)s seats and %(used)s are taken (members and pending invitations), so %(asked)s "
                "would not fit (%(free)s). Upgrade the plan on the billing page to add seats, or revoke pending "
                "invitations."
            )
            % {"name": tenant.name, "limit": limit, "used": used, "asked": asked, "free": free_seats},
            extra={"limit": limit, "used": used, "needed": needed},
        )


def _invitations_check(*, tenant: Tenant, emails: list[str], role: str, acting_user: User) -> list[str]:
    """Who may invite with this role, and the addresses, cleaned (AccountError naming what is wrong)."""
    actor_role = role_of(tenant_id=tenant.pk, user=acting_user)
    require(actor_role, Action.MEMBERS_INVITE)
    if role not in Role.values:
        raise AccountError(gettext("Choose owner, admin or member."))
    if role == Role.OWNER:
        require(actor_role, Action.OWNERS_MANAGE, "Only owners can invite someone as owner.")
    valid, invalid = normalise_emails(emails)
    if invalid:
        raise AccountError(gettext("Not an email address: %(join)s.") % {"join": ", ".join(invalid)})
    if not valid:
        raise AccountError(gettext("Enter at least one email address."))
    return valid


def _addresses_sort(tenant: Tenant, valid: list[str], *, now: datetime) -> tuple[InvitationsResult, list[str]]:
    """Members and addresses with a live invitation are reported back; an expired invitation is to be renewed; the
    rest are to be invited (the open invitations are locked)."""
    member_emails = set(
        Membership.objects.filter(tenant=tenant, user__email__in=valid).values_list("user__email", flat=True)
    ) | set(
        EmailAddress.objects.filter(email__in=valid, verified=True, user__memberships__tenant=tenant).values_list(
            "email", flat=True
        )
    )
    open_invitations = {
        inv.email.lower(): inv
        for inv in Invitation.objects.open().select_for_update().filter(tenant=tenant, email__in=valid)
    }
    member_emails = {e.lower() for e in member_emails}
    result = InvitationsResult()
    to_create: list[str] = []
    for email in valid:
        existing = open_invitations.get(email)
        if email in member_emails:
            result.already_members.append(email)
        elif existing is not None and existing.expires_at > now:
            result.already_invited.append(email)
        elif existing is not None:
            result.renewed.append(existing)
        else:
            to_create.append(email)
    return result, to_create


@transaction.atomic
def invitations_create(
    *,
    tenant: Tenant,
    emails: list[str],
    role: str,
    acting_user: User,
) -> InvitationsResult:
    """Invite addresses to the workspace with one role; each gets its own email (sent by a task after commit).

    Members and addresses with a pending invitation are reported back and left alone; an expired invitation to the
    same address is renewed and sent again. All or nothing on seats: if the new invitations do not fit in the plan's
    seats, none is made.
    """
    valid = _invitations_check(tenant=tenant, emails=emails, role=role, acting_user=acting_user)
    _lock_workspace(tenant)
    now = timezone.now()
    result, to_create = _addresses_sort(tenant, valid, now=now)
    _ensure_seats(tenant, len(to_create) + len(result.renewed))

    for invitation in result.renewed:
        invitation.role = role
        invitation.invited_by = acting_user
        invitation.expires_at = now + _max_age()
        invitation.save(update_fields=["role", "invited_by", "expires_at"])
    result.created = Invitation.objects.bulk_create(
        Invitation(
            tenant=tenant,
            email=email,
            role=role,
            token_hash=_unguessable_hash(),
            invited_by=acting_user,
            expires_at=now + _max_age(),
        )
        for email in to_create
    )
    for invitation in result.created:
        audit_record(
            tenant=tenant,
            action=AuditAction.INVITATION_CREATED,
            actor=acting_user,
            target=invitation,
            metadata={"email": invitation.email, "role": role},
        )
        event_emit(
            tenant=tenant, type=EventType.INVITATION_CREATED, actor=acting_user, data=invitation_data(invitation)
        )
    for invitation in result.renewed:
        audit_record(
            tenant=tenant,
            action=AuditAction.INVITATION_RESENT,
            actor=acting_user,
            target=invitation,
            metadata={"email": invitation.email, "role": role, "renewed": True},
        )
    if result.sent:
        seats_changed_on_commit(tenant.pk)
        from shared_apps.accounts.tasks import invitation_send  # noqa: PLC0415  (the tasks import these services)

        for invitation in result.sent:
            enqueue_on_commit(invitation_send, invitation_id=invitation.pk)
    return result


@transaction.atomic
def invitations_restore(*, tenant: Tenant, invites: list[tuple[str, str]]) -> list[Invitation]:
    """Invite the members of a restored workspace (`tenant import`) who have no account here, each with the role they
    had. The platform acts (no inviting member, no seat check: the workspace had these people); each invitation is
    audited and emailed after commit like any other."""
    valid, invalid = normalise_emails([email for email, _role in invites])
    if invalid:
        raise AccountError(gettext("Not an email address: %(join)s.") % {"join": ", ".join(invalid)})
    roles = {email.strip().lower(): role if role in Role.values else Role.MEMBER for email, role in invites}
    now = timezone.now()
    created = Invitation.objects.bulk_create(
        Invitation(
            tenant=tenant,
            email=email,
            role=roles.get(email, Role.MEMBER),
            token_hash=_unguessable_hash(),
            invited_by=None,
            expires_at=now + _max_age(),
        )
        for email in valid
    )
    for invitation in created:
        audit_record(
            tenant=tenant,
            action=AuditAction.INVITATION_CREATED,
            actor=None,
            target=invitation,
            metadata={"email": invitation.email, "role": invitation.role, "restored": True},
        )
        event_emit(tenant=tenant, type=EventType.INVITATION_CREATED, actor=None, data=invitation_data(invitation))
    if created:
        seats_changed_on_commit(tenant.pk)
        from shared_apps.accounts.tasks import invitation_send  # noqa: PLC0415  (the tasks import these services)

        for invitation in created:
            enqueue_on_commit(invitation_send, invitation_id=invitation.pk)
    return created


def _lock_open_invitation(*, tenant: Tenant, invitation: Invitation) -> Invitation:
    locked = Invitation.objects.select_for_update().filter(pk=invitation.pk, tenant=tenant).first()
    if locked is None:
        raise NotFound(gettext("There is no such invitation in this workspace."))
    if locked.accepted_at is not None:
        raise AccountError(gettext("The invitation to %(email)s was already accepted.") % {"email": locked.email})
    if locked.revoked_at is not None:
        raise AccountError(gettext("The invitation to %(email)s was already revoked.") % {"email": locked.email})
    return locked


def _require_invitation_manager(*, tenant: Tenant, invitation: Invitation, acting_user: User) -> None:
    actor_role = role_of(tenant_id=tenant.pk, user=acting_user)
    require(actor_role, Action.INVITATIONS_MANAGE)
    if invitation.role == Role.OWNER:
        require(actor_role, Action.OWNERS_MANAGE, "Only owners can manage an invitation to become owner.")


def _invitation_changed(
    *, tenant: Tenant, locked: Invitation, fields: dict[str, Any], action: AuditAction, acting_user: User
) -> Invitation:
    """The end every change to an open-or-revoked invitation shares: the fields saved, the seat count re-synced on
    commit, the change in the audit log."""
    for name, value in fields.items():
        setattr(locked, name, value)
    locked.save(update_fields=list(fields))
    seats_changed_on_commit(tenant.pk)
    audit_record(
        tenant=tenant,
        action=action,
        actor=acting_user,
        target=locked,
        metadata={"email": locked.email, "role": locked.role},
    )
    return locked


@transaction.atomic
def invitation_resend(*, tenant: Tenant, invitation: Invitation, acting_user: User) -> Invitation:
    """Send the invitation again with a new link (the old one stops working) valid for another full period."""
    _require_invitation_manager(tenant=tenant, invitation=invitation, acting_user=acting_user)
    _lock_workspace(tenant)
    locked = _lock_open_invitation(tenant=tenant, invitation=invitation)
    if locked.expires_at <= timezone.now():
        _ensure_seats(tenant, 1)  # an expired invitation held no seat; sending it again takes one
    _invitation_changed(
        tenant=tenant,
        locked=locked,
        fields={"expires_at": timezone.now() + _max_age()},
        action=AuditAction.INVITATION_RESENT,
        acting_user=acting_user,
    )
    from shared_apps.accounts.tasks import invitation_send  # noqa: PLC0415  (the tasks import these services)

    enqueue_on_commit(invitation_send, invitation_id=locked.pk)
    return locked


@transaction.atomic
def invitation_revoke(*, tenant: Tenant, invitation: Invitation, acting_user: User) -> Invitation:
    """Withdraw an invitation: its link stops working and its seat is free again."""
    _require_invitation_manager(tenant=tenant, invitation=invitation, acting_user=acting_user)
    locked = _lock_open_invitation(tenant=tenant, invitation=invitation)
    return _invitation_changed(
        tenant=tenant,
        locked=locked,
        fields={"revoked_at": timezone.now(), "revoked_by": acting_user},
        action=AuditAction.INVITATION_REVOKED,
        acting_user=acting_user,
    )


# How long after revoking an invitation the revocation can be taken back (the "Undo" beside the confirmation).
REVOKE_UNDO_WINDOW = timedelta(minutes=10)


@transaction.atomic
def invitation_revoke_undo(*, tenant: Tenant, invitation: Invitation, acting_user: User) -> Invitation:
    """Take back a revocation made moments ago: the same invitation is open again, the link already emailed works
    again (nothing new is sent) and it holds its seat. Refused once the window has passed, when the address has
    joined or been invited again since, or when the seats are gone."""
    _require_invitation_manager(tenant=tenant, invitation=invitation, acting_user=acting_user)
    _lock_workspace(tenant)
    locked = Invitation.objects.select_for_update().filter(pk=invitation.pk, tenant=tenant).first()
    if locked is None:
        raise NotFound(gettext("There is no such invitation in this workspace."))
    if locked.revoked_at is None:
        raise AccountError(
            gettext("The invitation to %(email)s is not revoked: there is nothing to undo.") % {"email": locked.email}
        )
    now = timezone.now()
    if locked.revoked_at < now - REVOKE_UNDO_WINDOW:
        raise AccountError(
            gettext("It is too late to undo revoking %(email)s's invitation: send a new one instead.")
            % {"email": locked.email}
        )
    if Membership.objects.filter(tenant=tenant, user__email__iexact=locked.email).exists():
        raise AccountError(
            gettext("%(email)s is a member now: there is no invitation to bring back.") % {"email": locked.email}
        )
    if Invitation.objects.open().filter(tenant=tenant, email__iexact=locked.email).exists():
        raise AccountError(gettext("%(email)s has a newer invitation: that one stands.") % {"email": locked.email})
    if locked.expires_at > now:
        _ensure_seats(tenant, 1)
    return _invitation_changed(
        tenant=tenant,
        locked=locked,
        fields={"revoked_at": None, "revoked_by": None},
        action=AuditAction.INVITATION_RESTORED,
        acting_user=acting_user,
    )


@transaction.atomic
def invitation_token_issue(*, invitation_id: int) -> tuple[Invitation, str] | None:
    """Mint the token for the email about to be sent: only its hash is kept, any earlier link stops working, and
    the invitation is valid for a full period from now. None when the invitation is no longer open."""
    invitation = (
        Invitation.objects.select_for_update(of=("self",))
        .select_related("tenant", "invited_by")
        .filter(pk=invitation_id)
        .first()
    )
    if invitation is None or invitation.accepted_at is not None or invitation.revoked_at is not None:
        return None
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    if invitation.send_count > 0:  # an emailed link is being replaced (before the first email, nobody held one)
        ReplacedInvitationToken.objects.get_or_create(token_hash=invitation.token_hash, invitation=invitation)
    invitation.token_hash = Invitation.hash_token(token)
    invitation.expires_at = now + _max_age()
    invitation.send_count += 1
    invitation.save(update_fields=["token_hash", "expires_at", "send_count"])
    return invitation, token


JOINABLE_STATES = frozenset({TenantStatus.ACTIVE, TenantStatus.PAST_DUE})


def invitation_mark_sent(*, invitation: Invitation) -> None:
    """The email carrying the invitation's current link went out (set only after the mail server took it, so the
    invitations page never shows as sent an email that was not)."""
    Invitation.objects.filter(pk=invitation.pk).update(sent_at=timezone.now())


def invitation_check(invitation: Invitation | None, *, replaced: bool = False) -> Invitation:
    """The invitation if its link can still be used; InvitationUnusable (with a reason and an HTTP status) if not.
    `replaced`: the link was this invitation's, before a resend replaced it."""
    if invitation is None:
        raise InvitationUnusable(gettext("This invitation link is not valid."), reason="invalid", status=404)
    if replaced:
        raise InvitationUnusable(gettext("This invitation was replaced by a newer one."), reason="replaced", status=410)
    if invitation.revoked_at is not None:
        raise InvitationUnusable(gettext("This invitation was withdrawn."), reason="revoked", status=410)
    if invitation.accepted_at is not None:
        raise InvitationUnusable(gettext("This invitation was already used."), reason="used", status=410)
    if invitation.expires_at <= timezone.now():
        raise InvitationUnusable(gettext("This invitation has expired."), reason="expired", status=410)
    if invitation.tenant.status not in JOINABLE_STATES:
        # A suspended workspace, or one waiting to be deleted, takes no new members until it is back.
        raise InvitationUnusable(
            gettext("%(name)s is not taking new members right now.") % {"name": invitation.tenant.name},
            reason="unavailable",
            status=409,
        )
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, user: User) -> Membership:
    """Join the workspace with the invitation's role. The signed-in account must hold the invited address, verified;
    the link then stops working (single use, under a row lock)."""
    invitation = (
        Invitation.objects.select_for_update(of=("self",))
        .select_related("tenant")
        .filter(token_hash=Invitation.hash_token(token))
        .first()
        if token and len(token) <= 128
        else None
    )
    invitation = invitation_check(invitation)
    if not user_has_verified_email(user=user, email=invitation.email):
        raise InvitationUnusable(
            gettext("This invitation is for %(email)s, and you're signed in as %(email2)s.")
            % {"email": invitation.email, "email2": user.email},
            reason="wrong_email",
            status=403,
        )
    tenant = invitation.tenant
    membership, created = Membership.objects.get_or_create(user=user, tenant=tenant, defaults={"role": invitation.role})
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    seats_changed_on_commit(tenant.pk)
    audit_record(
        tenant=tenant,
        action=AuditAction.INVITATION_ACCEPTED,
        actor=user,
        target=invitation,
        metadata={"email": invitation.email, "role": invitation.role},
    )
    event_emit(tenant=tenant, type=EventType.INVITATION_ACCEPTED, actor=user, data=invitation_data(invitation))
    if created:
        audit_record(
            tenant=tenant,
            action=AuditAction.MEMBER_JOINED,
            actor=user,
            target=user,
            metadata={"role": membership.role, "invited_by": invitation.invited_by_id},
        )
        event_emit(tenant=tenant, type=EventType.MEMBER_JOINED, actor=user, data=member_data(membership))
    return membership


NAME_MAX_LENGTH = 150


@transaction.atomic
def invitation_accept_new_account(*, token: str, password: str, name: str = "") -> Membership:
    """Create the invited person's account and join, in one step. The emailed link proves the address, so it is
    recorded as verified (no code to type). An address that already has an account signs in to join instead."""
    invitation = invitation_check(
        Invitation.objects.select_for_update(of=("self",))
        .select_related("tenant")
        .filter(token_hash=Invitation.hash_token(token))
        .first()
        if token and len(token) <= 128
        else None
    )
    if user_get_by_email(email=invitation.email) is not None:
        raise InvitationUnusable(
            gettext("There's already an Atrium account for %(email)s: sign in to join.") % {"email": invitation.email},
            reason="account_exists",
            status=409,
        )
    name = name.strip()
    if len(name) > NAME_MAX_LENGTH or has_control_characters(name):
        raise AccountError(
            gettext("Names can have at most %(NAME_MAX_LENGTH)s characters and no control characters.")
            % {"NAME_MAX_LENGTH": NAME_MAX_LENGTH}
        )
    user, _ = user_get_or_create(email=invitation.email, password=password, name=name, email_verified=True)
    return invitation_accept(token=token, user=user)
