"""Login handoff: the root domain hands a signed-in user to a workspace host without a shared cookie.

The flow, three redirects long, so that a ticket only ever works in the browser that asked for it:

1. `<workspace>/auth/start/` puts a random value in a host-only cookie of the workspace host and sends the browser to
   the root's `/workspaces/<slug>/open/?binding=<sha256 of that value>`;
2. the root (where the person is signed in) mints a ticket bound to that user, that workspace and that binding, and
   sends the browser to `<workspace>/auth/handoff/?token=…`;
3. the workspace host redeems the ticket only if the browser presents the cookie whose hash the ticket carries.

Someone who fetches their own ticket URL without following it and sends it to somebody else (login CSRF: the other
person would end up signed in as them) gains nothing: the other browser has no matching cookie.

Zulip's pattern: the root mints a signed, single-use ticket bound to (user, tenant) that lives
LOGIN_HANDOFF_MAX_AGE seconds; the workspace host consumes it once and starts its own host-only session.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext

from shared_apps.accounts.models import LoginHandoff, User
from shared_apps.accounts.selectors import membership_for
from shared_apps.core.errors import ApplicationError
from tenants.links import workspace_path
from tenants.models import Domain, Tenant
from tenants.selectors import tenant_url

Purpose = LoginHandoff.Purpose
# A ticket's purpose is in its signature (one salt each) and in its row: a sign-in ticket is never redeemed as an
# operator's impersonation ticket, nor the other way round.
_SALTS = {Purpose.SIGN_IN: "atrium.login-handoff", Purpose.IMPERSONATION: "atrium.impersonation-handoff"}
# Where each kind of ticket is redeemed on the workspace host (URL names of config/urls_tenants.py).
_CONSUME_VIEWS = {Purpose.SIGN_IN: "handoff_consume", Purpose.IMPERSONATION: "impersonation_consume"}
BINDING_COOKIE = "atrium_handoff"
_BINDING = re.compile(r"^[0-9a-f]{64}$")


def max_age(purpose: str) -> int:
    """Seconds a ticket of this purpose stays valid: LOGIN_HANDOFF_MAX_AGE, or IMPERSONATION_TICKET_MAX_AGE."""
    if purpose == Purpose.IMPERSONATION:
        return int(settings.IMPERSONATION_TICKET_MAX_AGE)
    return int(settings.LOGIN_HANDOFF_MAX_AGE)


class HandoffRefused(ApplicationError):
    """The ticket is expired, tampered with, already used, or meant for another workspace."""


def safe_next_path(path: str | None) -> str:
    """A local path to continue to after the handoff ("/" for anything else: no open redirects)."""
    if path and path.startswith("/") and url_has_allowed_host_and_scheme(path, allowed_hosts=None):
        return path
    return "/"


def binding_new() -> tuple[str, str]:
    """(the value for the browser's cookie, the hash the root binds the ticket to)."""
    value = secrets.token_urlsafe(32)
    return value, binding_of(value)


def binding_of(cookie_value: str) -> str:
    return hashlib.sha256(cookie_value.encode()).hexdigest()


def _primary_host(tenant: Tenant) -> str:
    domain = Domain.objects.filter(tenant=tenant, is_primary=True).values_list("domain", flat=True).first()
    if domain is None:
        raise HandoffRefused(gettext("That workspace has no address yet."))
    return str(domain)


def handoff_start_url(*, user: User, tenant: Tenant, next_path: str = "/") -> str:
    """Step 1 for a member of `tenant`: the workspace host's URL that binds the coming ticket to this browser."""
    if membership_for(user_id=user.pk, tenant_id=tenant.pk) is None:
        raise HandoffRefused(gettext("You are not a member of that workspace."))
    host = _primary_host(tenant)
    return f"{tenant_url(host)}{workspace_path('handoff_start')}?{urlencode({'next': safe_next_path(next_path)})}"


def handoff_ticket(
    *, user: User, tenant: Tenant, binding: str, next_path: str = "/", purpose: str = Purpose.SIGN_IN
) -> tuple[LoginHandoff, str]:
    """Step 2, for any purpose: the ticket's row and the URL on the tenant's host that redeems it, only in the browser
    whose cookie hashes to `binding`. Only for members of that tenant. Runs in the caller's transaction."""
    if membership_for(user_id=user.pk, tenant_id=tenant.pk) is None:
        raise HandoffRefused(gettext("You are not a member of that workspace."))
    if not _BINDING.match(binding):
        raise HandoffRefused(gettext("This sign-in link is not valid."))
    domain = _primary_host(tenant)
    nonce = secrets.token_urlsafe(32)
    row = LoginHandoff.objects.create(
        nonce=nonce,
        purpose=purpose,
        browser_binding=binding,
        user=user,
        tenant=tenant,
        next_path=safe_next_path(next_path),
        expires_at=timezone.now() + timedelta(seconds=max_age(purpose)),
    )
    token = signing.dumps({"n": nonce, "u": user.pk, "t": tenant.pk}, salt=_SALTS[Purpose(purpose)], compress=True)
    return row, f"{tenant_url(domain)}{workspace_path(_CONSUME_VIEWS[Purpose(purpose)])}?{urlencode({'token': token})}"


@transaction.atomic
def handoff_create(*, user: User, tenant: Tenant, binding: str, next_path: str = "/") -> str:
    """Step 2: the URL on the tenant's host that signs `user` in there, redeemable only by the browser whose cookie
    hashes to `binding`. Only for members of that tenant."""
    _row, url = handoff_ticket(user=user, tenant=tenant, binding=binding, next_path=next_path)
    return url


def handoff_consume(*, token: str, tenant_id: int, cookie_value: str) -> tuple[User, str]:
    """Step 3: redeem a ticket on the host of `tenant_id`, in the browser that presents `cookie_value`: the user to
    sign in and where to go. HandoffRefused otherwise (a ticket presented by another browser is spent as well)."""
    handoff = handoff_redeem(token=token, tenant_id=tenant_id, cookie_value=cookie_value)
    return handoff.user, handoff.next_path


def handoff_redeem(*, token: str, tenant_id: int, cookie_value: str, purpose: str = Purpose.SIGN_IN) -> LoginHandoff:
    """Step 3, for any purpose: spend the ticket once, on the host of `tenant_id`, in the browser that presents
    `cookie_value`; its row (with `user`) if everything holds, HandoffRefused otherwise."""
    try:
        payload = signing.loads(token, salt=_SALTS[Purpose(purpose)], max_age=max_age(purpose))
    except signing.SignatureExpired as exc:
        raise HandoffRefused(gettext("This sign-in link has expired.")) from exc
    except signing.BadSignature as exc:
        raise HandoffRefused(gettext("This sign-in link is not valid.")) from exc
    if payload.get("t") != tenant_id:
        raise HandoffRefused(gettext("This sign-in link is for another workspace."))
    now = timezone.now()
    with transaction.atomic():
        handoff = (
            LoginHandoff.objects.select_for_update()
            .filter(nonce=payload.get("n"), user_id=payload.get("u"), tenant_id=tenant_id, purpose=purpose)
            .select_related("user")
            .first()
        )
        if handoff is None:
            raise HandoffRefused(gettext("This sign-in link is not valid."))
        if handoff.used_at is not None:
            raise HandoffRefused(gettext("This sign-in link was already used."))
        if handoff.expires_at <= now:
            raise HandoffRefused(gettext("This sign-in link has expired."))
        handoff.used_at = now
        handoff.save(update_fields=["used_at"])
        bound_here = bool(cookie_value) and hmac.compare_digest(handoff.browser_binding, binding_of(cookie_value))
    if not bound_here:
        raise HandoffRefused(
            gettext(
                "This sign-in link was opened in a different browser from the one that asked for it, so it signs "
                "nobody in. Sign in from this browser instead."
            )
        )
    user = handoff.user
    if not user.is_active or membership_for(user_id=user.pk, tenant_id=tenant_id) is None:
        raise HandoffRefused(gettext("You are not a member of this workspace."))
    return handoff


def handoff_purge_expired() -> int:
    """Delete tickets past their expiry (beat task)."""
    deleted, _ = LoginHandoff.objects.filter(expires_at__lt=timezone.now() - timedelta(hours=1)).delete()
    return deleted
