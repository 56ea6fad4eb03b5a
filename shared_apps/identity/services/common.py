from __future__ import annotations

from django.utils.translation import gettext as _

from shared_apps.accounts.models import Membership, User
from shared_apps.accounts.permissions import Action, NotAllowed, require
from tenants.models import Tenant


def require_identity_admin(*, tenant: Tenant, acting_user: User) -> Membership:
    """The acting person's membership, if they may manage the workspace's identity settings (owners and admins)."""
    membership = Membership.objects.filter(tenant_id=tenant.pk, user_id=acting_user.pk).only("id", "role").first()
    if membership is None or not acting_user.is_active:
        raise NotAllowed(_("Only members of this workspace can change its sign-in settings."))
    require(
        membership.role, Action.IDENTITY_MANAGE, "Only owners and admins can change the workspace's sign-in settings."
    )
    return membership
