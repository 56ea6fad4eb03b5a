"""Writes about accounts, memberships, roles and invitations.

Every function that changes who is in a workspace checks the acting person's role against the permission matrix
(`shared_apps.accounts.permissions`) itself, so pages, commands and the API cannot disagree; takes the row locks its
check needs (`select_for_update`, owners locked in id order so that two owners demoting each other cannot both win);
writes an audit entry in the workspace's own log; and queues emails with `transaction.on_commit`.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Model, Q
from django.http import HttpRequest
from django.utils import timezone
from django_tenants.utils import tenant_context

from shared_apps.accounts.errors import (
    AccountError,
    InvitationUnusable,
    LastOwner,
    NotFound,
    SeatLimitReached,
)
from shared_apps.accounts.models import Invitation, Membership, Role, User
from shared_apps.accounts.permissions import Action, NotAllowed, can, can_manage, require
from shared_apps.accounts.selectors import (
    membership_for,
    seat_limit,
    seats_used,
    user_get_by_email,
    user_has_verified_email,
)
from tenant_apps.audit.services import audit_record
from tenants.db import connection
from tenants.models import Tenant

logger = logging.getLogger(__name__)

__all__ = [
    "AccountError",
    "InvitationsResult",
    "invitation_accept",
    "invitation_resend",
    "invitation_revoke",
    "invitation_token_issue",
    "invitations_create",
    "member_leave",
    "member_remove",
    "member_role_change",
    "membership_create",
    "ownership_transfer",
    "sessions_end_all",
    "sessions_end_others",
    "user_get_or_create",
    "user_profile_update",
]


def user_get_or_create(
    *, email: str, password: str | None = None, name: str = "", email_verified: bool = True
) -> tuple[User, bool]:
    """The account for this email, created (with `password`, or an unusable one) if there is none.

    Accounts made here come from an operator (`manage.py tenant create`, the demo seed), who vouches for the address,
    so it is recorded as verified unless `email_verified=False`; self-service sign-up goes through allauth instead.
    """
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise AccountError(f"“{email}” is not a valid email address.") from exc
    existing = user_get_by_email(email=email)
    if existing is not None:
        return existing, False
    if password is not None:
        try:
            validate_password(password, User(email=email, name=name))
        except ValidationError as exc:
            raise AccountError(" ".join(exc.messages)) from exc
    from allauth.account.models import EmailAddress

    user = User.objects.create_user(email=email, password=password, name=name)
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=email_verified)
    return user, True


def operator_ensure(*, email: str, password: str) -> User:
    """A platform operator (staff + superuser, verified email) for the Django admin. Idempotent; development seed."""
    user, _ = user_get_or_create(email=email, password=password, name="Platform operator")
    if not (user.is_staff and user.is_superuser):
        user.is_staff = user.is_superuser = True
        user.save(update_fields=["is_staff", "is_superuser"])
    return user


@transaction.atomic
def membership_create(*, user: User, tenant: Tenant, role: str = Role.MEMBER) -> Membership:
    membership, created = Membership.objects.get_or_create(user=user, tenant=tenant, defaults={"role": role})
    if not created:
        raise AccountError(f"{user.email} is already a member of {tenant.name}.")
    return membership


def sessions_end_all(*, user: User) -> int:
    """Sign the account out everywhere: every session on every host ends now. Returns how many ended."""
    from allauth.usersessions.models import UserSession

    sessions = list(UserSession.objects.filter(user=user))
    for session in sessions:
        session.end()
    return len(sessions)


def sessions_end_others(
    *, user: User, current_session_key: str | None, tenant: Tenant | None = None, request: HttpRequest | None = None
) -> int:
    """End every session of the account except the one making the request. Returns how many ended."""
    from allauth.usersessions.models import UserSession

    sessions = list(UserSession.objects.filter(user=user).exclude(session_key=current_session_key or ""))
    for session in sessions:
        session.end()
    if tenant is not None:
        _audit(
            tenant=tenant,
            action="auth.sessions_ended",
            actor=user,
            target=user,
            request=request,
            metadata={"count": len(sessions)},
        )
    return len(sessions)


def user_profile_update(*, user: User, name: str) -> User:
    name = name.strip()
    if len(name) > 150:
        raise AccountError("Names can have at most 150 characters.")
    user.name = name
    user.save(update_fields=["name"])
    return user


# --- helpers -----------------------------------------------------------------------------------------------------


def _audit(
    *,
    tenant: Tenant,
    action: str,
    actor: User | None,
    target: Model | None = None,
    request: HttpRequest | None = None,
    metadata: dict[str, Any] | None = None,
) -> None:
    """An entry in `tenant`'s own audit log, from whichever schema the connection is on (the root's invitation
    pages run in the public schema)."""
    kwargs: dict[str, Any] = {
        "action": action,
        "actor": actor,
        "target": target,
        "request": request,
        "metadata": metadata,
    }
    if connection.schema_name == tenant.schema_name:
        audit_record(**kwargs)
    else:
        with tenant_context(tenant):
            audit_record(**kwargs)


def _role_of(*, tenant_id: int, user: User | None) -> str | None:
    if user is None or not user.is_authenticated:
        return None
    membership = membership_for(user_id=user.pk, tenant_id=tenant_id)
    return membership.role if membership else None


@dataclass
class _Locked:
    actor: Membership | None
    rows: dict[int, Membership]
    owners: int

    def target(self, membership_id: int) -> Membership:
        row = self.rows.get(membership_id)
        if row is None:
            raise NotFound("There is no such member in this workspace.")
        return row


def _lock_members(*, tenant_id: int, membership_ids: list[int], actor: User) -> _Locked:
    """Lock, in id order, the memberships a change reads: its targets, the actor's, and every owner's (so the
    last-owner rule is checked against rows nobody else can change until this transaction ends)."""
    rows = list(
        Membership.objects.select_for_update(of=("self",))
        .select_related("user")
        .filter(tenant_id=tenant_id)
        .filter(Q(pk__in=membership_ids) | Q(user_id=actor.pk) | Q(role=Role.OWNER))
        .order_by("pk")
    )
    return _Locked(
        actor=next((m for m in rows if m.user_id == actor.pk), None),
        rows={m.pk: m for m in rows},
        owners=sum(1 for m in rows if m.role == Role.OWNER),
    )


def _require_actor(locked: _Locked, action: Action) -> Membership:
    if locked.actor is None:
        raise NotAllowed("You are not a member of this workspace.")
    require(locked.actor.role, action)
    return locked.actor


def _ensure_not_last_owner(locked: _Locked, membership: Membership, message: str) -> None:
    if membership.role == Role.OWNER and locked.owners <= 1:
        raise LastOwner(message)


def _who(user: User) -> str:
    return user.get_full_name() if user.name else user.email


# --- members and roles -------------------------------------------------------------------------------------------


@transaction.atomic
def member_role_change(
    *, tenant: Tenant, membership: Membership, role: str, acting_user: User, request: HttpRequest | None = None
) -> Membership:
    """Give a member another role. Owners are managed by owners only; the last owner keeps the role."""
    if role not in Role.values:
        raise AccountError("Choose owner, admin or member.")
    locked = _lock_members(tenant_id=tenant.pk, membership_ids=[membership.pk], actor=acting_user)
    actor = _require_actor(locked, Action.MEMBERS_CHANGE_ROLE)
    target = locked.target(membership.pk)
    if not can_manage(actor.role, target.role) or (role == Role.OWNER and not can(actor.role, Action.OWNERS_MANAGE)):
        raise NotAllowed("Only owners can make someone an owner or change an owner's role.")
    if target.role == role:
        raise AccountError(f"{_who(target.user)} is already {Role(role).label.lower()}.")
    _ensure_not_last_owner(
        locked, target, f"{_who(target.user)} is the last owner of {tenant.name}. Make someone else an owner first."
    )
    previous = target.role
    target.role = role
    target.save(update_fields=["role"])
    _audit(
        tenant=tenant,
        action="member.role_changed",
        actor=acting_user,
        target=target.user,
        request=request,
        metadata={"from": previous, "to": role},
    )
    return target


@transaction.atomic
def member_remove(
    *, tenant: Tenant, membership: Membership, acting_user: User, request: HttpRequest | None = None
) -> None:
    """Take someone out of the workspace. Owners are removed by owners only; nobody removes the last owner."""
    locked = _lock_members(tenant_id=tenant.pk, membership_ids=[membership.pk], actor=acting_user)
    actor = _require_actor(locked, Action.MEMBERS_REMOVE)
    target = locked.target(membership.pk)
    if target.pk == actor.pk:
        raise AccountError("To take yourself out of the workspace, use “Leave workspace”.")
    if not can_manage(actor.role, target.role):
        raise NotAllowed("Only owners can remove an owner.")
    _ensure_not_last_owner(locked, target, f"{_who(target.user)} is the last owner of {tenant.name}.")
    user = target.user
    target.delete()
    _audit(
        tenant=tenant,
        action="member.removed",
        actor=acting_user,
        target=user,
        request=request,
        metadata={"role": target.role},
    )


@transaction.atomic
def member_leave(*, tenant: Tenant, user: User, request: HttpRequest | None = None) -> None:
    """Leave the workspace. The last owner cannot: there must always be someone who can run it."""
    locked = _lock_members(tenant_id=tenant.pk, membership_ids=[], actor=user)
    own = _require_actor(locked, Action.MEMBERS_LEAVE)
    _ensure_not_last_owner(
        locked,
        own,
        f"You're the last owner of {tenant.name}. Make someone else an owner before you leave.",
    )
    own.delete()
    _audit(tenant=tenant, action="member.left", actor=user, target=user, request=request, metadata={"role": own.role})


@transaction.atomic
def ownership_transfer(
    *, tenant: Tenant, membership: Membership, acting_user: User, request: HttpRequest | None = None
) -> Membership:
    """Make another member an owner and step down to admin, in one transaction."""
    locked = _lock_members(tenant_id=tenant.pk, membership_ids=[membership.pk], actor=acting_user)
    actor = _require_actor(locked, Action.OWNERSHIP_TRANSFER)
    target = locked.target(membership.pk)
    if target.pk == actor.pk:
        raise AccountError("Choose someone else to hand the workspace to.")
    if target.role == Role.OWNER:
        raise AccountError(f"{_who(target.user)} is already an owner.")
    previous = target.role
    target.role = Role.OWNER
    target.save(update_fields=["role"])
    actor.role = Role.ADMIN
    actor.save(update_fields=["role"])
    _audit(
        tenant=tenant,
        action="ownership.transferred",
        actor=acting_user,
        target=target.user,
        request=request,
        metadata={"from": acting_user.email, "to": target.user.email, "previous_role": previous},
    )
    return target


# --- invitations -------------------------------------------------------------------------------------------------


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


def _lock_tenant(tenant: Tenant) -> None:
    """Serialise seat checks of one workspace: two admins inviting at once cannot both take the last seat."""
    list(Tenant.objects.select_for_update().filter(pk=tenant.pk).values_list("pk", flat=True))


def _ensure_seats(tenant: Tenant, needed: int) -> None:
    if needed <= 0:
        return
    limit = seat_limit(tenant_id=tenant.pk)
    used = seats_used(tenant_id=tenant.pk)
    if used + needed > limit:
        free = max(limit - used, 0)
        asked = f"{needed} invitation{'s' if needed != 1 else ''}"
        raise SeatLimitReached(
            f"{tenant.name} has {limit} seats and {used} are taken (members and pending invitations), "
            f"so {asked} would not fit ({free} seat{'s' if free != 1 else ''} free). "
            "Upgrade the plan on the billing page to add seats, or revoke pending invitations.",
            extra={"limit": limit, "used": used, "needed": needed},
        )


def _enqueue_send(invitation_ids: list[int]) -> None:
    """After commit: the invitations exist whatever happens here, so a broker hiccup is logged, not raised (the
    admin can resend)."""
    from shared_apps.accounts.tasks import invitation_send

    def send() -> None:
        for invitation_id in invitation_ids:
            try:
                invitation_send.delay(invitation_id=invitation_id)
            except Exception:
                logger.exception("could not enqueue an invitation email", extra={"invitation_id": invitation_id})

    transaction.on_commit(send)


@transaction.atomic
def invitations_create(
    *,
    tenant: Tenant,
    emails: list[str],
    role: str,
    acting_user: User,
    request: HttpRequest | None = None,
) -> InvitationsResult:
    """Invite addresses to the workspace with one role; each gets its own email (sent by a task after commit).

    Members and addresses with a pending invitation are reported back and left alone; an expired invitation to the
    same address is renewed and sent again. All or nothing on seats: if the new invitations do not fit in the plan's
    seats, none is made.
    """
    actor_role = _role_of(tenant_id=tenant.pk, user=acting_user)
    require(actor_role, Action.MEMBERS_INVITE)
    if role not in Role.values:
        raise AccountError("Choose owner, admin or member.")
    if role == Role.OWNER:
        require(actor_role, Action.OWNERS_MANAGE, "Only owners can invite someone as owner.")
    valid, invalid = normalise_emails(emails)
    if invalid:
        raise AccountError(f"Not an email address: {', '.join(invalid)}.")
    if not valid:
        raise AccountError("Enter at least one email address.")
    _lock_tenant(tenant)

    from allauth.account.models import EmailAddress

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
    now = timezone.now()
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
        _audit(
            tenant=tenant,
            action="invitation.created",
            actor=acting_user,
            target=invitation,
            request=request,
            metadata={"email": invitation.email, "role": role},
        )
    for invitation in result.renewed:
        _audit(
            tenant=tenant,
            action="invitation.resent",
            actor=acting_user,
            target=invitation,
            request=request,
            metadata={"email": invitation.email, "role": role, "renewed": True},
        )
    if result.sent:
        _enqueue_send([inv.pk for inv in result.sent])
    return result


def _lock_open_invitation(*, tenant: Tenant, invitation: Invitation) -> Invitation:
    locked = Invitation.objects.select_for_update().filter(pk=invitation.pk, tenant=tenant).first()
    if locked is None:
        raise NotFound("There is no such invitation in this workspace.")
    if locked.accepted_at is not None:
        raise AccountError(f"The invitation to {locked.email} was already accepted.")
    if locked.revoked_at is not None:
        raise AccountError(f"The invitation to {locked.email} was already revoked.")
    return locked


def _require_invitation_manager(*, tenant: Tenant, invitation: Invitation, acting_user: User) -> None:
    actor_role = _role_of(tenant_id=tenant.pk, user=acting_user)
    require(actor_role, Action.INVITATIONS_MANAGE)
    if invitation.role == Role.OWNER:
        require(actor_role, Action.OWNERS_MANAGE, "Only owners can manage an invitation to become owner.")


@transaction.atomic
def invitation_resend(
    *, tenant: Tenant, invitation: Invitation, acting_user: User, request: HttpRequest | None = None
) -> Invitation:
    """Send the invitation again with a new link (the old one stops working) valid for another full period."""
    _require_invitation_manager(tenant=tenant, invitation=invitation, acting_user=acting_user)
    _lock_tenant(tenant)
    locked = _lock_open_invitation(tenant=tenant, invitation=invitation)
    if locked.expires_at <= timezone.now():
        _ensure_seats(tenant, 1)  # an expired invitation held no seat; sending it again takes one
    locked.expires_at = timezone.now() + _max_age()
    locked.save(update_fields=["expires_at"])
    _audit(
        tenant=tenant,
        action="invitation.resent",
        actor=acting_user,
        target=locked,
        request=request,
        metadata={"email": locked.email, "role": locked.role},
    )
    _enqueue_send([locked.pk])
    return locked


@transaction.atomic
def invitation_revoke(
    *, tenant: Tenant, invitation: Invitation, acting_user: User, request: HttpRequest | None = None
) -> Invitation:
    """Withdraw an invitation: its link stops working and its seat is free again."""
    _require_invitation_manager(tenant=tenant, invitation=invitation, acting_user=acting_user)
    locked = _lock_open_invitation(tenant=tenant, invitation=invitation)
    locked.revoked_at = timezone.now()
    locked.revoked_by = acting_user
    locked.save(update_fields=["revoked_at", "revoked_by"])
    _audit(
        tenant=tenant,
        action="invitation.revoked",
        actor=acting_user,
        target=locked,
        request=request,
        metadata={"email": locked.email, "role": locked.role},
    )
    return locked


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
    invitation.token_hash = Invitation.hash_token(token)
    invitation.sent_at = now
    invitation.expires_at = now + _max_age()
    invitation.send_count += 1
    invitation.save(update_fields=["token_hash", "sent_at", "expires_at", "send_count"])
    return invitation, token


def invitation_check(invitation: Invitation | None) -> Invitation:
    """The invitation if its link can still be used; InvitationUnusable (with a reason and an HTTP status) if not."""
    if invitation is None:
        raise InvitationUnusable("This invitation link is not valid.", reason="invalid", status=404)
    if invitation.revoked_at is not None:
        raise InvitationUnusable("This invitation was withdrawn.", reason="revoked", status=410)
    if invitation.accepted_at is not None:
        raise InvitationUnusable("This invitation was already used.", reason="used", status=410)
    if invitation.expires_at <= timezone.now():
        raise InvitationUnusable("This invitation has expired.", reason="expired", status=410)
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, user: User, request: HttpRequest | None = None) -> Membership:
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
            f"This invitation is for {invitation.email}, and you're signed in as {user.email}.",
            reason="wrong_email",
            status=403,
        )
    tenant = invitation.tenant
    membership, created = Membership.objects.get_or_create(user=user, tenant=tenant, defaults={"role": invitation.role})
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    _audit(
        tenant=tenant,
        action="invitation.accepted",
        actor=user,
        target=invitation,
        request=request,
        metadata={"email": invitation.email, "role": invitation.role},
    )
    if created:
        _audit(
            tenant=tenant,
            action="member.joined",
            actor=user,
            target=user,
            request=request,
            metadata={"role": membership.role, "invited_by": invitation.invited_by_id},
        )
    return membership
