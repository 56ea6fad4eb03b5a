"""A workspace's SAML 2.0 connection: its identity provider read from metadata (a URL or an uploaded file), Atrium's
own signing certificate for it, and the IdP's certificates during a change-over (at most two are trusted at once).
Every change is audited; reading the metadata from a URL happens before the transaction that saves it."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from shared_apps.accounts.models import User
from shared_apps.core.text import has_control_characters
from shared_apps.identity import saml
from shared_apps.identity import secrets as secret_box
from shared_apps.identity.errors import IdentityError
from shared_apps.identity.models import SsoConnection
from shared_apps.identity.selectors import policy_forget
from shared_apps.identity.services.common import require_identity_admin
from tenant_apps.audit.actions import AuditAction
from tenant_apps.audit.services import audit_record
from tenants.models import Tenant

MAX_CERTIFICATES = 2


def _clean_metadata_url(raw: str) -> str:
    value = (raw or "").strip()
    parts = urlsplit(value)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if (
        len(value) > 500
        or has_control_characters(value)
        or parts.scheme not in ("https", "http")
        or not parts.hostname
        or parts.username
        or parts.password
        or (parts.scheme == "http" and not (loopback and settings.IDENTITY_LOOPBACK_IDP_ALLOWED))
    ):
        raise IdentityError(
            "Enter the https:// address of your identity provider's SAML metadata.", field="metadata_url"
        )
    return value


def saml_metadata_read(*, metadata_url: str, metadata_xml: str) -> tuple[saml.IdpMetadata, str]:
    """The identity provider described by an uploaded document, or else by the one at `metadata_url` (read here,
    outside any transaction), and the URL kept."""
    if not metadata_xml and not metadata_url:
        raise IdentityError(
            "Enter the address of your identity provider's metadata, or upload the file.", field="metadata_url"
        )
    url = _clean_metadata_url(metadata_url) if metadata_url else ""
    field = "metadata_file" if metadata_xml else "metadata_url"
    try:
        return saml.metadata_parse(metadata_xml or saml.metadata_fetch(url)), url
    except saml.SamlError as exc:
        raise IdentityError(str(exc), field=field) from exc


@transaction.atomic
def saml_connection_save(
    *, tenant: Tenant, acting_user: User, metadata: saml.IdpMetadata, metadata_url: str = ""
) -> SsoConnection:
    """Connect the workspace to a SAML identity provider, or take its new metadata (the certificates in it replace
    the ones trusted so far). Atrium's signing certificate is made with the connection and kept after."""
    require_identity_admin(tenant=tenant, acting_user=acting_user)
    connection = SsoConnection.objects.select_for_update().filter(tenant_id=tenant.pk).first()
    if connection is not None and connection.protocol != SsoConnection.Protocol.SAML:
        raise IdentityError(
            "This workspace signs in through OpenID Connect. Remove that identity provider first.",
            field="metadata_url",
        )
    created = connection is None
    if connection is None:
        connection = SsoConnection(
            tenant_id=tenant.pk, provider_key=secrets.token_hex(8), protocol=SsoConnection.Protocol.SAML
        )
        cert, key = saml.sp_keypair_make(common_name=f"Atrium SSO {connection.provider_id}")
        connection.sp_certificate, connection.sp_private_key_encrypted = cert, secret_box.encrypt(key)
    connection.idp_entity_id, connection.idp_sso_url = metadata.entity_id, metadata.sso_url
    connection.idp_certificates = list(metadata.certificates)
    connection.idp_metadata_url = metadata_url
    connection.enabled = True
    connection.save()
    policy_forget(tenant_id=tenant.pk)
    transaction.on_commit(lambda: policy_forget(tenant_id=tenant.pk))
    audit_record(
        tenant=tenant,
        action=AuditAction.IDENTITY_SSO_CONFIGURED,
        actor=acting_user,
        target=connection,
        metadata={
            "protocol": "saml",
            "created": created,
            "idp_entity_id": metadata.entity_id,
            "certificates": [saml.certificate_info(c).fingerprint for c in metadata.certificates],
        },
    )
    return connection


def _saml_connection_locked(tenant: Tenant) -> SsoConnection:
    connection = SsoConnection.objects.select_for_update().filter(tenant_id=tenant.pk).first()
    if connection is None or connection.protocol != SsoConnection.Protocol.SAML:
        raise IdentityError(_("This workspace has no SAML identity provider."))
    return connection


@transaction.atomic
def saml_certificate_add(*, tenant: Tenant, acting_user: User, certificate: str) -> SsoConnection:
    """Trust the identity provider's next certificate beside the current one (a change-over)."""
    require_identity_admin(tenant=tenant, acting_user=acting_user)
    try:
        value = saml.certificate_clean(certificate)
    except saml.SamlError as exc:
        raise IdentityError(str(exc), field="certificate") from exc
    connection = _saml_connection_locked(tenant)
    if value in connection.idp_certificates:
        raise IdentityError(_("That certificate is already trusted."), field="certificate")
    if len(connection.idp_certificates) >= MAX_CERTIFICATES:
        raise IdentityError(
            "Two certificates are trusted already: remove the one your identity provider no longer uses first.",
            field="certificate",
        )
    connection.idp_certificates = [*connection.idp_certificates, value]
    connection.save(update_fields=["idp_certificates", "updated_at"])
    audit_record(
        tenant=tenant,
        action=AuditAction.IDENTITY_SSO_CONFIGURED,
        actor=acting_user,
        target=connection,
        metadata={"protocol": "saml", "certificate_added": saml.certificate_info(value).fingerprint},
    )
    return connection


@transaction.atomic
def saml_certificate_remove(*, tenant: Tenant, acting_user: User, fingerprint: str) -> SsoConnection:
    """Stop trusting one of the identity provider's certificates (never the last one)."""
    require_identity_admin(tenant=tenant, acting_user=acting_user)
    connection = _saml_connection_locked(tenant)
    kept = [c for c in connection.idp_certificates if saml.certificate_info(c).fingerprint != fingerprint]
    if len(kept) == len(connection.idp_certificates):
        raise IdentityError(_("That certificate is not trusted by this workspace."))
    if not kept:
        raise IdentityError(_("The identity provider's only certificate cannot be removed: add its next one first."))
    connection.idp_certificates = kept
    connection.save(update_fields=["idp_certificates", "updated_at"])
    audit_record(
        tenant=tenant,
        action=AuditAction.IDENTITY_SSO_CONFIGURED,
        actor=acting_user,
        target=connection,
        metadata={"protocol": "saml", "certificate_removed": fingerprint[:100]},
    )
    return connection
