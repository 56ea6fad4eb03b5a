"""Writes about API keys: a member makes keys for themselves in one workspace; the key's owner and the workspace's
admins revoke them. Each change is checked against the permission matrix here and written to the workspace's audit
log. The secret exists only in the return value of `api_key_create` (shown once); the row keeps its SHA-256."""

from __future__ import annotations

import datetime as dt
import secrets

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from shared_apps.accounts.errors import AccountError, NotFound
from shared_apps.accounts.models import ApiKey, ApiKeyScope, Membership, User
from shared_apps.accounts.permissions import Action, NotAllowed, can, require
from shared_apps.core.text import has_control_characters
from tenant_apps.audit.actions import AuditAction
from tenant_apps.audit.services import audit_record
from tenants.models import Tenant

# Every key starts with this: secret scanners (and people) recognise an Atrium key by it.
KEY_START = "atr_"
PREFIX_LENGTH = len(KEY_START) + 8  # what the pages show of a key
NAME_MAX_LENGTH = 100
KEYS_PER_MEMBER_MAX = 20
EXPIRY_MAX = dt.timedelta(days=3 * 366)
# Last use is written at most this often per key: a busy key costs one UPDATE a minute, not one per request.
LAST_USE_EVERY = dt.timedelta(minutes=1)


class ApiKeyInvalid(AccountError):
    """Input a person can correct; `field` names the form field it belongs to."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message, extra={"field": field})
        self.field = field


def _clean_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise ApiKeyInvalid(_("Give the key a name that says where it is used."), field="name")
    if has_control_characters(name):
        raise ApiKeyInvalid(_("The name can't contain line breaks or control characters."), field="name")
    if len(name) > NAME_MAX_LENGTH:
        raise ApiKeyInvalid(
            _("The name can be at most %(NAME_MAX_LENGTH)s characters.") % {"NAME_MAX_LENGTH": NAME_MAX_LENGTH},
            field="name",
        )
    return name


def _clean_expiry(expires_at: dt.datetime | None) -> dt.datetime | None:
    if expires_at is None:
        return None
    now = timezone.now()
    if expires_at <= now:
        raise ApiKeyInvalid(_("Pick an expiry date in the future, or none."), field="expires_at")
    if expires_at > now + EXPIRY_MAX:
        raise ApiKeyInvalid(_("A key can last at most three years; pick an earlier date, or none."), field="expires_at")
    return expires_at


@transaction.atomic
def api_key_create(
    *,
    tenant: Tenant,
    name: str,
    scope: str,
    acting_user: User,
    expires_at: dt.datetime | None = None,
) -> tuple[ApiKey, str]:
    """A new key for `acting_user` in `tenant`. Returns the key and its secret (shown once, never stored)."""
    membership = Membership.objects.select_for_update().filter(tenant_id=tenant.pk, user_id=acting_user.pk).first()
    if membership is None or not acting_user.is_active:
        raise NotAllowed(_("Only members of this workspace can make API keys for it."))
    require(membership.role, Action.API_KEYS_USE)
    name = _clean_name(name)
    if scope not in ApiKeyScope.values:
        raise ApiKeyInvalid(_("Choose read only, or read and write."), field="scope")
    expires_at = _clean_expiry(expires_at)
    active = (
        ApiKey.objects.filter(membership=membership, revoked_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
        .count()
    )
    if active >= KEYS_PER_MEMBER_MAX:
        raise ApiKeyInvalid(
            _(
                "You have %(active)s active keys in this workspace, the most one person can have. Revoke "
                "one you no longer use first."
            )
            % {"active": active}
        )
    secret = KEY_START + secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        membership=membership,
        tenant_id=tenant.pk,
        user=acting_user,
        name=name,
        scope=scope,
        prefix=secret[:PREFIX_LENGTH],
        secret_hash=ApiKey.hash_secret(secret),
        expires_at=expires_at,
    )
    audit_record(
        tenant=tenant,
        action=AuditAction.API_KEY_CREATED,
        actor=acting_user,
        target=key,
        metadata={
            "name": name,
            "scope": scope,
            "prefix": key.prefix,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
    )
    return key, secret


@transaction.atomic
def api_key_revoke(*, tenant: Tenant, key: ApiKey, acting_user: User) -> ApiKey:
    """Revoke a key: its owner may, and so may the workspace's admins (whose own keys are revoked the same way).
    It stops working at once (the next request is refused)."""
    locked = ApiKey.objects.select_for_update().select_related("user").filter(pk=key.pk, tenant_id=tenant.pk).first()
    if locked is None:
        raise NotFound(_("There is no such API key in this workspace."))
    membership = Membership.objects.filter(tenant_id=tenant.pk, user_id=acting_user.pk).only("role").first()
    role = membership.role if membership else None
    if locked.user_id == acting_user.pk:
        require(role, Action.API_KEYS_USE)
    elif not can(role, Action.API_KEYS_MANAGE):
        raise NotAllowed(_("Only the key's owner or an admin of the workspace can revoke it."))
    if locked.revoked_at is not None:
        raise AccountError(_("The key “%(name)s” was already revoked.") % {"name": locked.name})
    locked.revoked_at = timezone.now()
    locked.revoked_by = acting_user
    locked.save(update_fields=["revoked_at", "revoked_by"])
    audit_record(
        tenant=tenant,
        action=AuditAction.API_KEY_REVOKED,
        actor=acting_user,
        target=locked,
        metadata={"name": locked.name, "prefix": locked.prefix, "owner": locked.user.email},
    )
    return locked


def api_key_used(*, key_id: int, last_used_at: dt.datetime | None, ip: str | None) -> bool:
    """Record a key's use (time and client address), at most once a minute per key: one conditional UPDATE, which
    concurrent requests of the same key cannot all win. Not an audit entry: usage, not a change. Returns whether
    this call wrote."""
    now = timezone.now()
    if last_used_at is not None and now - last_used_at < LAST_USE_EVERY:
        return False
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USE_EVERY)
    return ApiKey.objects.filter(stale, pk=key_id).update(last_used_at=now, last_used_ip=ip or None) > 0
