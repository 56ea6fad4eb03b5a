"""Writes about who is in a workspace and as what: memberships, roles, removal, leaving, ownership.

Each function checks the acting person's role against the permission matrix (`shared_apps.accounts.permissions`)
itself, so pages, commands and the API cannot disagree; takes the row locks its check needs (`select_for_update`,
owners locked in id order so that two owners demoting each other cannot both win); and writes an audit entry in the
workspace's own log.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from shared_apps.accounts.errors import AccountError, LastOwner, NotFound
from shared_apps.accounts.hooks import membership_ended, seats_changed_on_commit
from shared_apps.accounts.models import Membership, Role, User
from shared_apps.accounts.permissions import Action, NotAllowed, can, can_manage, require
from shared_apps.accounts.representations import member_data
from shared_apps.accounts.selectors import membership_for
from tenant_apps.audit.actions import AuditAction
from tenant_apps.audit.events import EventType, event_emit
from tenant_apps.audit.services import audit_record
from tenants.db import insert_one
from tenants.models import Tenant


def membership_create(*, user: User, tenant: Tenant, role: str = Role.MEMBER) -> Membership:
    """`user` joins `tenant` (a workspace being made: its owner, or an imported member), with its `member.joined`
    event. One INSERT, no savepoint: joining twice breaks the unique (user, tenant) index and the caller's
    transaction with it.

    No seat change is announced: a workspace being made has no subscription yet, and its trial starts after the
    transaction commits with the seats it has then."""
    try:
        membership = insert_one(Membership(user=user, tenant=tenant, role=role))
    except IntegrityError as exc:
        raise AccountError(
            _("%(email)s is already a member of %(name)s.") % {"email": user.email, "name": tenant.name}
        ) from exc
    member_joined_emit(tenant=tenant, membership=membership)
    return membership


def member_joined_emit(*, tenant: Tenant, membership: Membership) -> None:
    """The `member.joined` event of a membership just made (by whichever path: invitation, workspace creation,
    import, SCIM, single sign-on), in the caller's transaction; the person who joined is its actor."""
    event_emit(tenant=tenant, type=EventType.MEMBER_JOINED, actor=membership.user, data=member_data(membership))


def role_of(*, tenant_id: int, user: User | None) -> str | None:
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
            raise NotFound(_("There is no such member in this workspace."))
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
        raise NotAllowed(_("You are not a member of this workspace."))
    require(locked.actor.role, action)
    return locked.actor


def _ensure_not_last_owner(locked: _Locked, membership: Membership, message: str) -> None:
    if membership.role == Role.OWNER and locked.owners <= 1:
        raise LastOwner(message)


def _who(user: User) -> str:
    return user.get_full_name() if user.name else user.email


@transaction.atomic
def member_role_change(*, tenant: Tenant, membership: Membership, role: str, acting_user: User) -> Membership:
    """Give a member another role. Owners are managed by owners only; the last owner keeps the role."""
    if role not in Role.values:
        raise AccountError(_("Choose owner, admin or member."))
    locked = _lock_members(tenant_id=tenant.pk, membership_ids=[membership.pk], actor=acting_user)
    actor = _require_actor(locked, Action.MEMBERS_CHANGE_ROLE)
    target = locked.target(membership.pk)
    if not can_manage(actor.role, target.role) or (role == Role.OWNER and not can(actor.role, Action.OWNERS_MANAGE)):
        raise NotAllowed(_("Only owners can make someone an owner or change an owner's role."))
    if target.role == role:
        raise AccountError(
            _("%(who)s is already %(lower)s.") % {"who": _who(target.user), "lower": Role(role).label.lower()}
        )
    _ensure_not_last_owner(
        locked, target, f"{_who(target.user)} is the last owner of {tenant.name}. Make someone else an owner first."
    )
    previous = target.role
    target.role = role
    target.save(update_fields=["role"])
    audit_record(
        tenant=tenant,
        action=AuditAction.MEMBER_ROLE_CHANGED,
        actor=acting_user,
        target=target.user,
        metadata={"from": previous, "to": role},
    )
    event_emit(tenant=tenant, type=EventType.MEMBER_ROLE_CHANGED, actor=acting_user, data=member_data(target))
    return target


@transaction.atomic
def member_remove(*, tenant: Tenant, membership: Membership, acting_user: User) -> None:
    """Take someone out of the workspace. Owners are removed by owners only; nobody removes the last owner."""
    locked = _lock_members(tenant_id=tenant.pk, membership_ids=[membership.pk], actor=acting_user)
    actor = _require_actor(locked, Action.MEMBERS_REMOVE)
    target = locked.target(membership.pk)
    if target.pk == actor.pk:
        raise AccountError(_("To take yourself out of the workspace, use “Leave workspace”."))
    if not can_manage(actor.role, target.role):
        raise NotAllowed(_("Only owners can remove an owner."))
    _ensure_not_last_owner(locked, target, f"{_who(target.user)} is the last owner of {tenant.name}.")
    user = target.user
    event_emit(tenant=tenant, type=EventType.MEMBER_REMOVED, actor=acting_user, data=member_data(target))
    target.delete()
    membership_ended.send(sender=Membership, tenant=tenant, user_id=user.pk)
    seats_changed_on_commit(tenant.pk)
    audit_record(
        tenant=tenant,
        action=AuditAction.MEMBER_REMOVED,
        actor=acting_user,
        target=user,
        metadata={"role": target.role},
    )


@transaction.atomic
def member_leave(*, tenant: Tenant, user: User) -> None:
    """Leave the workspace. The last owner cannot: there must always be someone who can run it."""
    locked = _lock_members(tenant_id=tenant.pk, membership_ids=[], actor=user)
    own = _require_actor(locked, Action.MEMBERS_LEAVE)
    _ensure_not_last_owner(
        locked,
        own,
        f"You're the last owner of {tenant.name}. Make someone else an owner before you leave.",
    )
    event_emit(tenant=tenant, type=EventType.MEMBER_REMOVED, actor=user, data=member_data(own))
    own.delete()
    membership_ended.send(sender=Membership, tenant=tenant, user_id=user.pk)
    seats_changed_on_commit(tenant.pk)
    audit_record(tenant=tenant, action=AuditAction.MEMBER_LEFT, actor=user, target=user, metadata={"role": own.role})


@transaction.atomic
def ownership_transfer(*, tenant: Tenant, membership: Membership, acting_user: User) -> Membership:
    """Make another member an owner and step down to admin, in one transaction."""
    locked = _lock_members(tenant_id=tenant.pk, membership_ids=[membership.pk], actor=acting_user)
    actor = _require_actor(locked, Action.OWNERSHIP_TRANSFER)
    target = locked.target(membership.pk)
    if target.pk == actor.pk:
        raise AccountError(_("Choose someone else to hand the workspace to."))
    if target.role == Role.OWNER:
        raise AccountError(_("%(who)s is already an owner.") % {"who": _who(target.user)})
    previous = target.role
    target.role = Role.OWNER
    target.save(update_fields=["role"])
    actor.role = Role.ADMIN
    actor.save(update_fields=["role"])
    audit_record(
        tenant=tenant,
        action=AuditAction.OWNERSHIP_TRANSFERRED,
        actor=acting_user,
        target=target.user,
        metadata={"from": acting_user.email, "to": target.user.email, "previous_role": previous},
    )
    for changed in (target, actor):
        event_emit(tenant=tenant, type=EventType.MEMBER_ROLE_CHANGED, actor=acting_user, data=member_data(changed))
    return target
