"""A workspace's single sign-on: the OpenID Connect connection (issuer, client id, encrypted secret; SAML's is in
services/saml.py), and what happens when someone signs in through either: only addresses of the workspace's verified
domains are accepted (an IdP of workspace A can never sign anyone into an account outside A's domains), and such a
person who is not a member yet joins with the policy's role, seats permitting (just-in-time membership)."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shared_apps.accounts.hooks import seats_changed_on_commit
from shared_apps.accounts.models import Membership, User
from shared_apps.accounts.selectors import seat_limit, seats_used
from shared_apps.accounts.services.members import member_joined_emit
from shared_apps.core.text import has_control_characters
from shared_apps.identity import secrets as secret_box
from shared_apps.identity.errors import IdentityError
from shared_apps.identity.models import SsoConnection, SsoSignIn
from shared_apps.identity.selectors import policy_for, policy_forget, verified_domains_of
from shared_apps.identity.services.common import require_identity_admin
from tenant_apps.audit.actions import AuditAction
from tenant_apps.audit.services import audit_record
from tenants.models import Tenant


def _clean_server_url(raw: str) -> str:
    value = (raw or "").strip().rstrip("/")
    parts = urlsplit(value)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if (
        not value
        or len(value) > 500
        or has_control_characters(value)
        or parts.scheme not in ("https", "http")
        or not parts.hostname
        or parts.username
        or parts.password
        or parts.query
        or parts.fragment
        or (parts.scheme == "http" and not (loopback and settings.IDENTITY_LOOPBACK_IDP_ALLOWED))
    ):
        raise IdentityError(
            _(
                "Enter the issuer URL of your identity provider, starting with https:// (its discovery document is "
                "at <issuer>/.well-known/openid-configuration)."
            ),
            field="server_url",
        )
    return value


@transaction.atomic
def sso_connection_save(
    *, tenant: Tenant, acting_user: User, server_url: str, client_id: str, client_secret: str
) -> SsoConnection:
    """Connect the workspace to its OpenID Connect provider, or change the connection (an empty secret keeps the
    one stored)."""
    require_identity_admin(tenant=tenant, acting_user=acting_user)
    server_url = _clean_server_url(server_url)
    client_id = (client_id or "").strip()
    if not client_id or len(client_id) > 255 or has_control_characters(client_id):
        raise IdentityError(_("Enter the client id your identity provider gave Atrium."), field="client_id")
    if len(client_secret or "") > 1000 or has_control_characters(client_secret or ""):
        raise IdentityError(_("That client secret is not valid."), field="client_secret")
    connection = SsoConnection.objects.select_for_update().filter(tenant_id=tenant.pk).first()
    if connection is not None and connection.protocol != SsoConnection.Protocol.OIDC:
        raise IdentityError(_("This workspace signs in through SAML. Remove that identity provider first."))
    created = connection is None
    if connection is None:
        if not client_secret:
            raise IdentityError(_("Enter the client secret your identity provider gave Atrium."), field="client_secret")
        connection = SsoConnection(tenant_id=tenant.pk, provider_key=secrets.token_hex(8))
    connection.server_url, connection.client_id = server_url, client_id
    if client_secret:
        connection.secret_encrypted = secret_box.encrypt(client_secret)
    connection.enabled = True
    connection.save()
    policy_forget(tenant_id=tenant.pk)
    audit_record(
        tenant=tenant,
        action=AuditAction.IDENTITY_SSO_CONFIGURED,
        actor=acting_user,
        target=connection,
        metadata={"server_url": server_url, "client_id": client_id, "created": created,
                  "secret_changed": bool(client_secret)},
    )  # fmt: skip
    return connection


@transaction.atomic
def sso_connection_remove(*, tenant: Tenant, acting_user: User) -> None:
    require_identity_admin(tenant=tenant, acting_user=acting_user)
    connection = SsoConnection.objects.select_for_update().filter(tenant_id=tenant.pk).first()
    if connection is None:
        raise IdentityError(_("This workspace has no identity provider."))
    server_url = connection.server_url or connection.idp_entity_id
    connection.delete()
    policy_forget(tenant_id=tenant.pk)
    audit_record(
        tenant=tenant, action=AuditAction.IDENTITY_SSO_REMOVED, actor=acting_user, metadata={"server_url": server_url}
    )


class SsoRefused(IdentityError):
    """A sign-in through a workspace's IdP that Atrium refuses (the message is shown to the person)."""


def sso_sign_in_refusal(*, connection: SsoConnection, email: str, email_verified: bool) -> str:
    """Why a sign-in through `connection` as `email` would be refused ("" when it would be accepted)."""
    domain = (email or "").rpartition("@")[2].lower()
    if not email or not email_verified:
        return "the identity provider did not send a verified email address"
    if domain not in verified_domains_of(tenant_id=connection.tenant_id):
        return f"{domain} is not one of the workspace's verified domains"
    return ""


def sso_sign_in_check(*, connection: SsoConnection, email: str, email_verified: bool) -> None:
    """Refuse a sign-in through `connection` unless the IdP vouches for an address of the workspace's verified
    domains (audited in the workspace's log)."""
    reason = sso_sign_in_refusal(connection=connection, email=email, email_verified=email_verified)
    if reason:
        audit_record(
            tenant=connection.tenant,
            action=AuditAction.IDENTITY_SSO_REFUSED,
            actor=None,
            metadata={"email": (email or "")[:254], "reason": reason},
        )
        raise SsoRefused(
            _(
                "Your organisation's identity provider signed you in as an address this workspace does not "
                "accept (%(reason)s). Ask the workspace's admins to verify your email domain."
            )
            % {"reason": reason}
        )


def sso_response_refused(*, connection: SsoConnection, reason: str, detail: str = "") -> None:
    """A SAML response refused before anyone is known (unsigned, expired, replayed, for another audience or
    recipient, unsolicited): written to the workspace's audit log."""
    audit_record(
        tenant=connection.tenant,
        action=AuditAction.IDENTITY_SSO_REFUSED,
        actor=None,
        metadata={"protocol": connection.protocol, "reason": reason[:40], "detail": detail[:300]},
    )


@transaction.atomic
def sso_membership_ensure(*, connection: SsoConnection, user: User) -> Membership:
    """The person signed in through the workspace's IdP: recorded (for "require single sign-on"), and their
    membership, made now if they have none (the policy's role; seats permitting)."""
    tenant = connection.tenant
    SsoSignIn.objects.update_or_create(user=user, tenant_id=tenant.pk, defaults={"signed_in_at": timezone.now()})
    existing = Membership.objects.filter(tenant_id=tenant.pk, user_id=user.pk).first()
    if existing is not None:
        return existing
    list(Tenant.objects.select_for_update().filter(pk=tenant.pk).values_list("pk", flat=True))
    if seats_used(tenant_id=tenant.pk) + 1 > seat_limit(tenant_id=tenant.pk):
        raise SsoRefused(
            _("%(name)s has no free seat. Ask its admins to make room, then sign in again.") % {"name": tenant.name}
        )
    role = policy_for(tenant_id=tenant.pk).jit_role
    membership = Membership.objects.create(tenant_id=tenant.pk, user=user, role=role)
    seats_changed_on_commit(tenant.pk)
    member_joined_emit(tenant=tenant, membership=membership)
    audit_record(
        tenant=tenant, action=AuditAction.IDENTITY_SSO_JOINED, actor=user, target=user, metadata={"role": role}
    )
    return membership
