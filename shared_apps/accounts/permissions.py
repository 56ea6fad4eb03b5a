"""Who may do what in a workspace: one table, read by pages, services and the API alike.

`MATRIX` maps every action to the roles allowed to take it. Two rules sit on top of the table, because they depend
on the person acted upon rather than on the actor alone:

- owners are managed by owners only: only an owner may invite someone as owner, make someone an owner, change an
  owner's role or remove an owner (`OWNERS_MANAGE`);
- the last owner of a workspace can never be removed, demoted or leave (enforced in the services under a row lock,
  since it depends on the other rows).
"""

from __future__ import annotations

from enum import StrEnum

from shared_apps.accounts.models import Role
from shared_apps.core.errors import ApplicationError


class Action(StrEnum):
    SETTINGS_VIEW = "settings.view"  # the workspace's general page and one's own profile
    MEMBERS_VIEW = "members.view"
    MEMBERS_VIEW_SECURITY = "members.view_security"  # last seen, MFA on/off
    MEMBERS_INVITE = "members.invite"
    INVITATIONS_MANAGE = "invitations.manage"  # list, resend, revoke
    MEMBERS_CHANGE_ROLE = "members.change_role"
    MEMBERS_REMOVE = "members.remove"
    MEMBERS_LEAVE = "members.leave"
    OWNERS_MANAGE = "owners.manage"
    OWNERSHIP_TRANSFER = "ownership.transfer"
    BILLING_MANAGE = "billing.manage"
    WORKSPACE_MANAGE = "workspace.manage"  # rename, move to another subdomain
    DOMAINS_MANAGE = "domains.manage"  # custom domains
    WORKSPACE_DELETE = "workspace.delete"
    AUDIT_VIEW = "audit.view"
    AUDIT_EXPORT = "audit.export"
    API_KEYS_USE = "api_keys.use"  # make keys for oneself, see and revoke one's own
    API_KEYS_MANAGE = "api_keys.manage"  # see and revoke every key of the workspace
    WEBHOOKS_MANAGE = "webhooks.manage"  # outgoing webhooks: endpoints, secrets, the delivery log
    IDENTITY_MANAGE = "identity.manage"  # verified domains, sign-in policy, SSO, SCIM tokens
    LABELS_MANAGE = "labels.manage"  # the workspace's task labels: create, rename, recolour, delete


_EVERYONE = frozenset({Role.OWNER, Role.ADMIN, Role.MEMBER})
_ADMINS = frozenset({Role.OWNER, Role.ADMIN})
_OWNERS = frozenset({Role.OWNER})

MATRIX: dict[Action, frozenset[Role]] = {
    Action.SETTINGS_VIEW: _EVERYONE,
    Action.MEMBERS_VIEW: _EVERYONE,
    Action.MEMBERS_VIEW_SECURITY: _ADMINS,
    Action.MEMBERS_INVITE: _ADMINS,
    Action.INVITATIONS_MANAGE: _ADMINS,
    Action.MEMBERS_CHANGE_ROLE: _ADMINS,
    Action.MEMBERS_REMOVE: _ADMINS,
    Action.MEMBERS_LEAVE: _EVERYONE,
    Action.OWNERS_MANAGE: _OWNERS,
    Action.OWNERSHIP_TRANSFER: _OWNERS,
    Action.BILLING_MANAGE: _OWNERS,
    Action.WORKSPACE_MANAGE: _OWNERS,
    Action.DOMAINS_MANAGE: _OWNERS,
    Action.WORKSPACE_DELETE: _OWNERS,
    Action.AUDIT_VIEW: _ADMINS,
    Action.AUDIT_EXPORT: _ADMINS,
    Action.API_KEYS_USE: _EVERYONE,
    Action.API_KEYS_MANAGE: _ADMINS,
    Action.WEBHOOKS_MANAGE: _ADMINS,
    Action.IDENTITY_MANAGE: _ADMINS,
    Action.LABELS_MANAGE: _ADMINS,
}
assert set(MATRIX) == set(Action), "every action needs a row in the matrix"  # noqa: S101


class NotAllowed(ApplicationError):
    """The acting person's role does not allow this. Pages answer 403; nothing was changed."""


def can(role: str | None, action: Action) -> bool:
    """Whether a member with `role` (None: not a member) may take `action`."""
    return role is not None and role in MATRIX[action]


def require(role: str | None, action: Action, message: str = "Your role in this workspace doesn't allow that.") -> None:
    if not can(role, action):
        raise NotAllowed(message)


def can_manage(actor_role: str | None, target_role: str) -> bool:
    """Whether `actor_role` may change or remove someone who has `target_role` (owners: owners only)."""
    if target_role == Role.OWNER:
        return can(actor_role, Action.OWNERS_MANAGE)
    return can(actor_role, Action.MEMBERS_CHANGE_ROLE)


def assignable_roles(actor_role: str | None) -> list[Role]:
    """Roles `actor_role` may give someone (by invitation or role change), highest first."""
    if can(actor_role, Action.OWNERS_MANAGE):
        return [Role.OWNER, Role.ADMIN, Role.MEMBER]
    if can(actor_role, Action.MEMBERS_CHANGE_ROLE) or can(actor_role, Action.MEMBERS_INVITE):
        return [Role.ADMIN, Role.MEMBER]
    return []


def allowed_actions(role: str | None) -> frozenset[Action]:
    """Every action `role` may take: what templates use to show or hide controls."""
    return frozenset(action for action, roles in MATRIX.items() if role in roles)
