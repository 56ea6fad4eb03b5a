"""Login handoff: the root domain hands a signed-in user to a workspace host without a shared cookie.

Zulip's pattern: the root mints a signed, single-use ticket bound to (user, tenant) that lives
LOGIN_HANDOFF_MAX_AGE seconds; the workspace host consumes it once and starts its own host-only session.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from shared_apps.accounts.models import LoginHandoff, User
from shared_apps.accounts.selectors import membership_for
from shared_apps.core.errors import ApplicationError
from tenants.links import workspace_path
from tenants.models import Domain, Tenant
from tenants.selectors import tenant_url

_SALT = "atrium.login-handoff"


class HandoffRefused(ApplicationError):
    """The ticket is expired, tampered with, already used, or meant for another workspace."""


def safe_next_path(path: str | None) -> str:
    """A local path to continue to after the handoff ("/" for anything else: no open redirects)."""
    if path and path.startswith("/") and url_has_allowed_host_and_scheme(path, allowed_hosts=None):
        return path
    return "/"


@transaction.atomic
def handoff_create(*, user: User, tenant: Tenant, next_path: str = "/") -> str:
    """The URL on the tenant's host that signs `user` in there. Only for members of that tenant."""
    if membership_for(user_id=user.pk, tenant_id=tenant.pk) is None:
        raise HandoffRefused("You are not a member of that workspace.")
    domain = Domain.objects.filter(tenant=tenant, is_primary=True).values_list("domain", flat=True).first()
    if domain is None:
        raise HandoffRefused("That workspace has no address yet.")
    nonce = secrets.token_urlsafe(32)
    LoginHandoff.objects.create(
        nonce=nonce,
        user=user,
        tenant=tenant,
        next_path=safe_next_path(next_path),
        expires_at=timezone.now() + timedelta(seconds=settings.LOGIN_HANDOFF_MAX_AGE),
    )
    token = signing.dumps({"n": nonce, "u": user.pk, "t": tenant.pk}, salt=_SALT, compress=True)
    return f"{tenant_url(domain)}{workspace_path('handoff_consume')}?{urlencode({'token': token})}"


def handoff_consume(*, token: str, tenant_id: int) -> tuple[User, str]:
    """Redeem a ticket on the host of `tenant_id`: the user to sign in and where to go. HandoffRefused otherwise."""
    try:
        payload = signing.loads(token, salt=_SALT, max_age=settings.LOGIN_HANDOFF_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise HandoffRefused("This sign-in link has expired.") from exc
    except signing.BadSignature as exc:
        raise HandoffRefused("This sign-in link is not valid.") from exc
    if payload.get("t") != tenant_id:
        raise HandoffRefused("This sign-in link is for another workspace.")
    now = timezone.now()
    with transaction.atomic():
        handoff = (
            LoginHandoff.objects.select_for_update()
            .filter(nonce=payload.get("n"), user_id=payload.get("u"), tenant_id=tenant_id)
            .select_related("user")
            .first()
        )
        if handoff is None:
            raise HandoffRefused("This sign-in link is not valid.")
        if handoff.used_at is not None:
            raise HandoffRefused("This sign-in link was already used.")
        if handoff.expires_at <= now:
            raise HandoffRefused("This sign-in link has expired.")
        handoff.used_at = now
        handoff.save(update_fields=["used_at"])
    user = handoff.user
    if not user.is_active or membership_for(user_id=user.pk, tenant_id=tenant_id) is None:
        raise HandoffRefused("You are not a member of this workspace.")
    return user, handoff.next_path


def handoff_purge_expired() -> int:
    """Delete tickets past their expiry (beat task)."""
    deleted, _ = LoginHandoff.objects.filter(expires_at__lt=timezone.now() - timedelta(hours=1)).delete()
    return deleted
