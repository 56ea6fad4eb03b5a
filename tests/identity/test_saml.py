"""SAML 2.0 single sign-on per workspace, against the suite's real SAML identity provider (pysaml2 on loopback, real
XML signatures): the connection from the IdP's metadata, the sign-in with just-in-time membership, the refusals
(unsigned, tampered, expired, replayed, unsolicited, for another audience or recipient, another workspace's
assertion), each audited; certificate change-over; the SP metadata; "Test connection"; query counts."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from shared_apps.accounts.models import Membership, Role, User
from shared_apps.identity import saml
from shared_apps.identity.errors import IdentityError
from shared_apps.identity.models import SsoConnection
from shared_apps.identity.services.saml import (
    saml_certificate_add,
    saml_certificate_remove,
    saml_connection_save,
    saml_metadata_read,
)
from tenant_apps.audit.models import AuditEntry
from tests.conftest import HostClient, host_of
from tests.saml_idp import SamlIdP, key_and_certificate, running_saml_idp


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SamlIdP]:
    with running_saml_idp(tmp_path_factory.mktemp("saml-idp")) as provider:
        yield provider


@pytest.fixture(autouse=True)
def _idp_reset(idp: SamlIdP) -> None:
    idp.configure("idp")
    idp.person = {"email": "ada@acme.com", "given_name": "Ada"}


def connect(tenant: Any, owner: Any, idp: SamlIdP) -> SsoConnection:
    metadata, url = saml_metadata_read(metadata_url=idp.metadata_url, metadata_xml="")
    return saml_connection_save(tenant=tenant, acting_user=owner, metadata=metadata, metadata_url=url)


def _local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def _slug(tenant: Any) -> str:
    return host_of(tenant).removesuffix("." + settings.BASE_DOMAIN)


def start(root: HostClient, row: SsoConnection, next_path: str = "/") -> str:
    """The sign-in's start on the root: the signed AuthnRequest's URL at the IdP."""
    response = root.post(f"/accounts/saml/{row.provider_id}/login/", {"process": "login", "next": next_path})
    assert response.status_code == 302, response.content[:500]
    return str(response["Location"])


def present(root: HostClient, acs_url: str, value: str) -> Any:
    """Post a response to an ACS as the IdP's form does, then follow to the finishing GET."""
    posted = root.post(_local(acs_url), {"SAMLResponse": value})
    if posted.status_code != 302:
        return posted
    return root.get(posted["Location"])


def refusals(in_tenant: Any, tenant: Any) -> list[dict[str, Any]]:
    with in_tenant(tenant):
        return [e.metadata for e in AuditEntry.objects.filter(action="identity.sso_refused").order_by("id")]


def test_a_person_of_the_verified_domain_signs_in_through_saml_and_joins(
    tenant, owner, verified, idp, in_tenant
) -> None:
    row = connect(tenant, owner, idp)
    root = HostClient(settings.BASE_DOMAIN)
    routed = root.post("/sso/", {"email": "ada@acme.com"})
    assert f"/accounts/saml/{row.provider_id}/login/" in routed.content.decode()
    url = start(root, row, f"/workspaces/{_slug(tenant)}/open/")
    assert url.startswith(f"{idp.base_url}/sso?SAMLRequest=")
    response = present(root, *idp.sign_in(url))
    assert response.status_code == 302, refusals(in_tenant, tenant)
    assert response["Location"] == f"/workspaces/{_slug(tenant)}/open/"
    ada = User.objects.get(email="ada@acme.com")
    assert Membership.objects.get(tenant=tenant, user=ada).role == Role.MEMBER
    assert ada.emailaddress_set.get(email="ada@acme.com").verified
    with in_tenant(tenant):
        assert AuditEntry.objects.filter(action="identity.sso_joined", actor=ada).exists()
    assert refusals(in_tenant, tenant) == []
