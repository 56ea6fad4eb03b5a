"""Identity objects for sweeps and tests: a SAML identity provider connected to a workspace."""

from __future__ import annotations

from shared_apps.identity import saml
from shared_apps.identity import secrets as secret_box
from shared_apps.identity.models import SsoConnection
from tenants.models import Tenant


def saml_connection_for(tenant: Tenant, mark: str) -> SsoConnection:
    """A SAML identity provider for `tenant`, every name carrying `mark` (its key, entity id, certificate's name)."""
    cert, key = saml.sp_keypair_make(common_name=f"Atrium SSO {mark}")
    return SsoConnection.objects.create(
        tenant_id=tenant.pk,
        protocol=SsoConnection.Protocol.SAML,
        provider_key=f"{mark}saml",
        idp_entity_id=f"https://idp.{mark}.example/saml",
        idp_sso_url=f"https://idp.{mark}.example/saml/sso",
        idp_certificates=[cert],
        sp_certificate=cert,
        sp_private_key_encrypted=secret_box.encrypt(key),
    )
