"""Who may act on a workspace: the permission matrix for members, a Django model permission for platform
operators, nobody else."""

from __future__ import annotations

from django.utils.translation import gettext as _

from shared_apps.accounts.models import Role, User
from shared_apps.accounts.permissions import MATRIX, Action, NotAllowed, can
from shared_apps.accounts.services.members import role_of
from tenants.models import Tenant


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


def authorize(
    *, tenant: Tenant, acting_user: User | None, operator_permission: str, member_action: Action | None, verb: str
) -> bool:
    """Whether `acting_user` may act (NotAllowed if not). True when they act as a platform operator: the change then
    needs a reason and goes into the operator log too."""
    if acting_user is None:
        return False
    if is_operator_with(acting_user, operator_permission):
        return True
    if member_action is None:
        raise NotAllowed(_("Only platform operators can %(verb)s %(name)s.") % {"verb": verb, "name": tenant.name})
    if can(role_of(tenant_id=tenant.pk, user=acting_user), member_action):
        return False
    who = "an owner" if MATRIX[member_action] == {Role.OWNER} else "an owner or admin"
    raise NotAllowed(_("Only %(who)s of %(name)s can %(verb)s it.") % {"who": who, "name": tenant.name, "verb": verb})


def actor_label(acting_user: User | None) -> str:
    return acting_user.email if acting_user is not None else "system"
