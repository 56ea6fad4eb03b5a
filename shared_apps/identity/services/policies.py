"""A workspace's sign-in policy: require SSO for its verified domains, require two-factor, session lifetime, and the
role people joining through the IdP or SCIM get."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext

from shared_apps.accounts.models import Role, User
from shared_apps.identity.errors import IdentityError
from shared_apps.identity.models import WorkspacePolicy
from shared_apps.identity.selectors import policy_forget
from shared_apps.identity.services.common import require_identity_admin
from tenant_apps.audit.actions import AuditAction
from tenant_apps.audit.services import audit_record
from tenants.models import Tenant

SESSION_MINUTES_MIN = 5
SESSION_MINUTES_MAX = 60 * 24 * 90


@transaction.atomic
def policy_update(
    *,
    tenant: Tenant,
    acting_user: User,
    require_sso: bool,
    require_two_factor: bool,
    session_lifetime_minutes: int | None,
    jit_role: str,
) -> WorkspacePolicy:
    require_identity_admin(tenant=tenant, acting_user=acting_user)
    if jit_role not in (Role.ADMIN, Role.MEMBER):
        raise IdentityError(
            gettext("People who join through the identity provider are members or admins."), field="jit_role"
        )
    if session_lifetime_minutes is not None and not (
        SESSION_MINUTES_MIN <= session_lifetime_minutes <= SESSION_MINUTES_MAX
    ):
        raise IdentityError(
            gettext(
                "A session lasts between %(SESSION_MINUTES_MIN)s minutes and 90 days; leave it empty for the default."
            )
            % {"SESSION_MINUTES_MIN": SESSION_MINUTES_MIN},
            field="session_lifetime_minutes",
        )
    policy, _ = WorkspacePolicy.objects.select_for_update().get_or_create(tenant_id=tenant.pk)
    before = {
        "require_sso": policy.require_sso,
        "require_two_factor": policy.require_two_factor,
        "session_lifetime_minutes": policy.session_lifetime_minutes,
        "jit_role": policy.jit_role,
    }
    after = {
        "require_sso": bool(require_sso),
        "require_two_factor": bool(require_two_factor),
        "session_lifetime_minutes": session_lifetime_minutes,
        "jit_role": jit_role,
    }
    if before == after:
        return policy
    for field, value in after.items():
        setattr(policy, field, value)
    policy.save()
    policy_forget(tenant_id=tenant.pk)
    changed = {k: {"from": before[k], "to": v} for k, v in after.items() if before[k] != v}
    audit_record(
        tenant=tenant, action=AuditAction.IDENTITY_POLICY_CHANGED, actor=acting_user, target=None, metadata=changed
    )
    return policy
