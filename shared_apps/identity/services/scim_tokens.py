"""SCIM tokens: made by a workspace's owners and admins in its settings, shown once (only a SHA-256 is kept, as for
API keys: 32 random bytes leave nothing to guess), revocable; each change audited."""

from __future__ import annotations

import secrets

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shared_apps.accounts.models import User
from shared_apps.core.text import has_control_characters
from shared_apps.identity.errors import IdentityError, NotFound
from shared_apps.identity.models import ScimToken
from shared_apps.identity.services.common import require_identity_admin
from tenant_apps.audit.actions import AuditAction
from tenant_apps.audit.services import audit_record
from tenants.models import Tenant

TOKEN_START = "atr_scim_"  # noqa: S105 (the start every token shares, not a secret)
PREFIX_LENGTH = len(TOKEN_START) + 6
TOKENS_PER_WORKSPACE_MAX = 5


@transaction.atomic
def scim_token_create(*, tenant: Tenant, name: str, acting_user: User) -> tuple[ScimToken, str]:
    """A new token for the workspace's SCIM client. Returns the row and the secret (shown once, never stored)."""
    require_identity_admin(tenant=tenant, acting_user=acting_user)
    name = (name or "").strip()
    if not name or len(name) > 100 or has_control_characters(name):
        raise IdentityError(_("Name the token after the client that uses it (at most 100 characters)."), field="name")
    active = ScimToken.objects.select_for_update().filter(tenant_id=tenant.pk, revoked_at__isnull=True)
    if len(active) >= TOKENS_PER_WORKSPACE_MAX:
        raise IdentityError(
            _("A workspace has at most %(TOKENS_PER_WORKSPACE_MAX)s SCIM tokens; revoke one first.")
            % {"TOKENS_PER_WORKSPACE_MAX": TOKENS_PER_WORKSPACE_MAX}
        )
    secret = TOKEN_START + secrets.token_urlsafe(32)
    token = ScimToken.objects.create(
        tenant_id=tenant.pk,
        name=name,
        prefix=secret[:PREFIX_LENGTH],
        secret_hash=ScimToken.hash_secret(secret),
        created_by=acting_user,
    )
    audit_record(
        tenant=tenant,
        action=AuditAction.SCIM_TOKEN_CREATED,
        actor=acting_user,
        target=token,
        metadata={"name": name, "prefix": token.prefix},
    )
    return token, secret


@transaction.atomic
def scim_token_revoke(*, tenant: Tenant, token_id: int, acting_user: User) -> ScimToken:
    require_identity_admin(tenant=tenant, acting_user=acting_user)
    token = ScimToken.objects.select_for_update().filter(pk=token_id, tenant_id=tenant.pk).first()
    if token is None:
        raise NotFound(_("There is no such SCIM token in this workspace."))
    if token.revoked_at is not None:
        raise IdentityError(_("The token “%(name)s” was already revoked.") % {"name": token.name})
    token.revoked_at = timezone.now()
    token.revoked_by = acting_user
    token.save(update_fields=["revoked_at", "revoked_by"])
    audit_record(
        tenant=tenant,
        action=AuditAction.SCIM_TOKEN_REVOKED,
        actor=acting_user,
        target=token,
        metadata={"name": token.name, "prefix": token.prefix},
    )
    return token
