"""SAML 2.0 single sign-on per workspace, against the suite's real SAML identity provider (pysaml2 on loopback, real
XML signatures): the connection from the IdP's metadata, the sign-in with just-in-time membership, the refusals
(unsigned, tampered, expired, replayed, unsolicited, for another audience or recipient, another workspace's
assertion), each audited; certificate change-over; the SP metadata; "Test connection"; query counts."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from onelogin.saml2.utils import OneLogin_Saml2_Utils
from saml2 import BINDING_HTTP_REDIRECT

from shared_apps.accounts.models import Membership, Role, User
from shared_apps.identity import saml
from shared_apps.identity.errors import IdentityError
from shared_apps.identity.models import SsoConnection, SsoSignIn
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
    # the form's redirect to the IdP is allowed by the page's CSP (form-action governs redirects too)
    form_action = next(d for d in routed["Content-Security-Policy"].split(";") if "form-action" in d)
    assert idp.base_url in form_action
    url = start(root, row, f"/workspaces/{_slug(tenant)}/open/")
    assert url.startswith(f"{idp.base_url}/sso?SAMLRequest=")
    response = present(root, *idp.sign_in(url))
    assert response.status_code == 302, refusals(in_tenant, tenant)
    assert response["Location"] == f"/workspaces/{_slug(tenant)}/open/"
    ada = User.objects.get(email="ada@acme.com")
    assert Membership.objects.get(tenant=tenant, user=ada).role == Role.MEMBER
    assert EmailAddress.objects.get(user=ada, email="ada@acme.com").verified
    with in_tenant(tenant):
        assert AuditEntry.objects.filter(action="identity.sso_joined", actor=ada).exists()
    assert refusals(in_tenant, tenant) == []


def _request_id(idp: SamlIdP, url: str) -> str:
    assert idp.server is not None
    request = idp.server.parse_authn_request(parse_qs(urlsplit(url).query)["SAMLRequest"][0], BINDING_HTTP_REDIRECT)
    return str(request.message.id)


def _tampered(value: str) -> str:
    xml = base64.b64decode(value).decode()
    assert "ada@acme.com" in xml
    return base64.b64encode(xml.replace("ada@acme.com", "eve@acme.com").encode()).decode()


def _later(monkeypatch: pytest.MonkeyPatch, seconds: int) -> None:
    real = OneLogin_Saml2_Utils.now
    monkeypatch.setattr(OneLogin_Saml2_Utils, "now", staticmethod(lambda: real() + seconds))


CASES = {
    # name: (how the response is made from (idp, row, request id), expected reason)
    "unsigned": (lambda idp, row, rid: idp.response(in_response_to=rid, acs_url=saml.sp_acs_url(row),
                                                     audience=saml.sp_entity_id(row), sign=False), "unsigned"),
    "tampered after signing": (lambda idp, row, rid: _tampered(idp.response(
        in_response_to=rid, acs_url=saml.sp_acs_url(row), audience=saml.sp_entity_id(row))), "bad_signature"),
    "wrong audience": (lambda idp, row, rid: idp.response(in_response_to=rid, acs_url=saml.sp_acs_url(row),
                                                           audience="http://localhost/accounts/saml/ws-other/metadata/"),
                       "wrong_audience"),
    "wrong recipient": (lambda idp, row, rid: idp.response(in_response_to=rid,
                                                            acs_url="http://localhost/accounts/saml/ws-other/acs/",
                                                            audience=saml.sp_entity_id(row)), "wrong_recipient"),
    "unsolicited (IdP-initiated)": (lambda idp, row, rid: idp.response(
        in_response_to=None, acs_url=saml.sp_acs_url(row), audience=saml.sp_entity_id(row)), "unsolicited"),
    "answering a request this browser never made": (lambda idp, row, rid: idp.response(
        in_response_to="id-made-up", acs_url=saml.sp_acs_url(row), audience=saml.sp_entity_id(row)), "unsolicited"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_response_is_refused_audited_and_signs_nobody_in(case, tenant, owner, verified, idp, in_tenant) -> None:
    make, reason = CASES[case]
    row = connect(tenant, owner, idp)
    root = HostClient(settings.BASE_DOMAIN)
    rid = _request_id(idp, start(root, row))
    response = present(root, saml.sp_acs_url(row), make(idp, row, rid))
    assert response.status_code == 403
    assert "_auth_user_id" not in root.session
    assert not User.objects.filter(email__in=["ada@acme.com", "eve@acme.com"]).exists()
    assert [r["reason"] for r in refusals(in_tenant, tenant)] == [reason], refusals(in_tenant, tenant)


def test_a_response_signed_by_a_key_the_workspace_does_not_trust_is_refused(
    tenant, owner, verified, idp, in_tenant
) -> None:
    row = connect(tenant, owner, idp)
    idp.configure("rogue")  # the same IdP's entity id, another key
    root = HostClient(settings.BASE_DOMAIN)
    response = present(root, *idp.sign_in(start(root, row)))
    assert response.status_code == 403
    assert not User.objects.filter(email="ada@acme.com").exists()
    assert [r["reason"] for r in refusals(in_tenant, tenant)] == ["bad_signature"]


def test_an_expired_response_is_refused(tenant, owner, verified, idp, in_tenant, monkeypatch) -> None:
    row = connect(tenant, owner, idp)
    root = HostClient(settings.BASE_DOMAIN)
    acs_url, value = idp.sign_in(start(root, row))
    _later(monkeypatch, 3600)  # presented an hour later
    response = present(root, acs_url, value)
    assert response.status_code == 403
    assert not User.objects.filter(email="ada@acme.com").exists()
    assert [r["reason"] for r in refusals(in_tenant, tenant)] == ["expired"]


def test_a_replayed_response_is_refused_in_the_same_browser_and_in_another(
    tenant, owner, verified, idp, in_tenant
) -> None:
    row = connect(tenant, owner, idp)
    root = HostClient(settings.BASE_DOMAIN)
    acs_url, value = idp.sign_in(start(root, row))
    assert present(root, acs_url, value).status_code == 302  # the genuine sign-in
    again = HostClient(settings.BASE_DOMAIN)
    start(again, row)  # a sign-in of the attacker's own is pending: the replay still names the victim's request
    assert present(again, acs_url, value).status_code == 403
    assert "_auth_user_id" not in again.session
    root.logout()
    assert present(root, acs_url, value).status_code == 403
    assert [r["reason"] for r in refusals(in_tenant, tenant)] == ["replayed", "replayed"]


def test_an_assertion_for_workspace_a_presented_at_bs_acs_is_refused(
    tenant, owner, other_tenant, outsider, verified, idp, in_tenant
) -> None:
    row_a = connect(tenant, owner, idp)
    row_b = connect(other_tenant, outsider, idp)  # the same IdP and key serve both workspaces
    root = HostClient(settings.BASE_DOMAIN)
    acs_a, value = idp.sign_in(start(root, row_a))
    start(root, row_b)
    response = present(root, saml.sp_acs_url(row_b), value)
    assert response.status_code == 403
    assert not User.objects.filter(email="ada@acme.com").exists()
    assert [r["reason"] for r in refusals(in_tenant, other_tenant)] == ["wrong_recipient"]
    assert refusals(in_tenant, tenant) == []
    assert acs_a == saml.sp_acs_url(row_a) != saml.sp_acs_url(row_b)


def test_an_address_outside_the_verified_domains_is_refused(tenant, owner, idp, in_tenant, fake_dns) -> None:
    row = connect(tenant, owner, idp)  # acme.com is not verified
    root = HostClient(settings.BASE_DOMAIN)
    response = present(root, *idp.sign_in(start(root, row)))
    assert response.status_code == 403
    assert b"verified domains" in response.content
    assert not User.objects.filter(email="ada@acme.com").exists()


def test_the_idp_certificate_changes_over_with_two_trusted_at_once(tenant, owner, verified, idp, in_tenant) -> None:
    row = connect(tenant, owner, idp)
    old_fingerprint = saml.certificate_info(row.idp_certificates[0]).fingerprint
    _key, _cert, next_pem = key_and_certificate(idp.directory, "next")
    row = saml_certificate_add(tenant=tenant, acting_user=owner, certificate=next_pem)
    assert len(row.idp_certificates) == 2
    with pytest.raises(IdentityError):  # a third is refused while two are trusted
        saml_certificate_add(tenant=tenant, acting_user=owner, certificate=key_and_certificate(idp.directory, "x")[2])
    for key_name in ("idp", "next"):  # the IdP signs with either during the change-over
        idp.configure(key_name)
        root = HostClient(settings.BASE_DOMAIN)
        assert present(root, *idp.sign_in(start(root, row))).status_code == 302, key_name
    row = saml_certificate_remove(tenant=tenant, acting_user=owner, fingerprint=old_fingerprint)
    with pytest.raises(IdentityError):  # the last one stays
        saml_certificate_remove(
            tenant=tenant, acting_user=owner, fingerprint=saml.certificate_info(row.idp_certificates[0]).fingerprint
        )
    idp.configure("idp")  # the old key is no longer trusted
    root = HostClient(settings.BASE_DOMAIN)
    assert present(root, *idp.sign_in(start(root, row))).status_code == 403
    with in_tenant(tenant):
        changes = AuditEntry.objects.filter(action="identity.sso_configured").count()
    assert changes == 3  # connected, certificate added, certificate removed


def test_the_workspace_publishes_its_sp_metadata(tenant, owner, idp, tenant_client) -> None:
    assert tenant_client.get("/sso/saml/metadata/").status_code == 404
    row = connect(tenant, owner, idp)
    response = tenant_client.get("/sso/saml/metadata/")  # anonymous: the IdP reads it
    assert response.status_code == 200
    assert response["Content-Type"] == "application/samlmetadata+xml"
    body = response.content.decode()
    assert f'entityID="{saml.sp_entity_id(row)}"' in body
    assert f'Location="{saml.sp_acs_url(row)}"' in body
    assert row.sp_certificate in body.replace("\n", "")
    root = HostClient(settings.BASE_DOMAIN).get(f"/accounts/saml/{row.provider_id}/metadata/")
    assert root.content == response.content


def test_an_admin_connects_saml_from_the_settings_page_by_url_or_upload(
    tenant, owner, idp, tenant_client, in_tenant
) -> None:
    tenant_client.force_login(owner)
    response = tenant_client.post("/settings/sso/saml/", {"metadata_url": idp.metadata_url})
    assert response.status_code == 302
    row = SsoConnection.objects.get(tenant=tenant)
    assert (row.protocol, row.idp_entity_id, row.idp_metadata_url) == ("saml", idp.entity_id, idp.metadata_url)
    page = tenant_client.get("/settings/sso/").content.decode()
    assert saml.sp_acs_url(row) in page
    assert saml.certificate_info(row.idp_certificates[0]).not_after.strftime("%Y") in page
    assert "Test connection" in page
    upload = SimpleUploadedFile("idp.xml", idp.metadata().encode(), content_type="text/xml")
    assert tenant_client.post("/settings/sso/saml/", {"metadata_file": upload}).status_code == 302
    assert SsoConnection.objects.get(tenant=tenant).idp_metadata_url == ""


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({}, "metadata_url"),
        ({"metadata_url": "ftp://idp.acme.com/metadata"}, "metadata_url"),
        ({"metadata_url": "http://idp.acme.com/metadata"}, "metadata_url"),
        ({"metadata_url": "https://idp\x00.acme.com/metadata"}, "metadata_url"),
        ({"metadata_url": "https://" + "x" * 700}, "metadata_url"),
        ({"metadata_url": "http://127.0.0.1:9/metadata"}, "metadata_url"),  # nobody answers
        ({"file": b"<not-xml"}, "metadata_file"),
        ({"file": b"<?xml version='1.0'?><EntityDescriptor/>"}, "metadata_file"),
        ({"file": b"\x00\x01\x02"}, "metadata_file"),
        ({"file": b"\xff\xfe"}, "metadata_file"),
        ({"file": b"<a>" + b"x" * 1_000_001 + b"</a>"}, "metadata_file"),
        (
            {"file": b'<!DOCTYPE d [<!ENTITY e SYSTEM "file:///etc/passwd">]><EntityDescriptor>&e;</EntityDescriptor>'},
            "metadata_file",
        ),
    ],
)
def test_unusable_metadata_is_refused_with_a_form_error(tenant, owner, tenant_client, data, error) -> None:
    tenant_client.force_login(owner)
    if "file" in data:
        data = {"metadata_file": SimpleUploadedFile("idp.xml", data["file"], content_type="text/xml")}
    response = tenant_client.post("/settings/sso/saml/", data)
    assert response.status_code == 400
    assert f'id="{error}_error"'.encode() in response.content
    assert not SsoConnection.objects.filter(tenant=tenant).exists()


def test_a_member_cannot_change_the_identity_provider(tenant, owner, member, idp, tenant_client) -> None:
    row = connect(tenant, owner, idp)
    tenant_client.force_login(member)
    assert tenant_client.post("/settings/sso/saml/", {"metadata_url": idp.metadata_url}).status_code == 403
    assert tenant_client.post("/settings/sso/connection/test/").status_code == 403
    cert = key_and_certificate(idp.directory, "member")[2]
    assert tenant_client.post("/settings/sso/saml/certificates/", {"certificate": cert}).status_code == 403
    assert SsoConnection.objects.get(tenant=tenant).idp_certificates == row.idp_certificates


def test_test_connection_shows_what_the_idp_sent_and_changes_nothing(
    tenant, owner, idp, tenant_client, in_tenant, fake_dns
) -> None:
    row = connect(tenant, owner, idp)  # acme.com not verified yet: the test says a sign-in would be refused
    tenant_client.force_login(owner)
    with in_tenant(tenant):
        entries = AuditEntry.objects.count()
    ticket = tenant_client.post("/settings/sso/connection/test/")
    assert ticket.status_code == 302
    root = HostClient(settings.BASE_DOMAIN)
    assert root.get(_local(ticket["Location"])).status_code == 200
    response = present(root, *idp.sign_in(start(root, row)))
    assert response.status_code == 200
    page = response.content.decode()
    assert "ada@acme.com" in page
    assert "urn:oid:0.9.2342.19200300.100.1.3" in page, page[
        page.find("<table") :
    ]  # the mail attribute as the IdP named it
    assert "acme.com is not one of the workspace&#x27;s verified domains" in page
    assert not User.objects.filter(email="ada@acme.com").exists()
    assert "_auth_user_id" not in root.session
    with in_tenant(tenant):
        assert AuditEntry.objects.count() == entries
    # the mark is used up: the next sign-in is a real one (refused here, the domain being unverified)
    assert present(root, *idp.sign_in(start(root, row))).status_code == 403


def test_a_saml_sign_in_counts_for_require_sso(tenant, owner, verified, idp) -> None:
    row = connect(tenant, owner, idp)
    root = HostClient(settings.BASE_DOMAIN)
    assert present(root, *idp.sign_in(start(root, row))).status_code == 302
    ada = User.objects.get(email="ada@acme.com")
    assert SsoSignIn.objects.filter(user=ada, tenant=tenant).exists()


def test_saml_pages_query_counts(tenant, owner, verified, idp, tenant_client) -> None:
    row = connect(tenant, owner, idp)
    tenant_client.force_login(owner)
    tenant_client.get("/settings/sso/")  # warm the routing and policy caches
    with CaptureQueriesContext(db) as settings_page:
        assert tenant_client.get("/settings/sso/").status_code == 200
    anonymous = HostClient(host_of(tenant))
    with CaptureQueriesContext(db) as host_metadata:
        assert anonymous.get("/sso/saml/metadata/").status_code == 200
    root = HostClient(settings.BASE_DOMAIN)
    with CaptureQueriesContext(db) as root_metadata:
        assert root.get(f"/accounts/saml/{row.provider_id}/metadata/").status_code == 200
    with CaptureQueriesContext(db) as login:
        url = start(root, row)
    acs_url, value = idp.sign_in(url)
    with CaptureQueriesContext(db) as acs:
        assert root.post(_local(acs_url), {"SAMLResponse": value}).status_code == 302
    assert len(settings_page) <= 16, [q["sql"] for q in settings_page.captured_queries]
    assert len(host_metadata) <= 2, [q["sql"] for q in host_metadata.captured_queries]
    assert len(root_metadata) <= 2, [q["sql"] for q in root_metadata.captured_queries]
    assert len(login) <= 9, [q["sql"][:90] for q in login.captured_queries]
    assert len(acs) <= 6, [q["sql"] for q in acs.captured_queries]


def test_an_empty_post_or_a_stray_visit_is_refused_without_an_audit_entry(
    tenant, owner, verified, idp, in_tenant
) -> None:
    row = connect(tenant, owner, idp)
    root = HostClient(settings.BASE_DOMAIN)
    assert root.post(f"/accounts/saml/{row.provider_id}/acs/", {}).status_code == 400
    assert root.get(f"/accounts/saml/{row.provider_id}/acs/finish/").status_code == 400
    assert root.post(f"/accounts/saml/{row.provider_id}/acs/", {"SAMLResponse": "x\x00y"}).status_code == 403
    assert present(root, saml.sp_acs_url(row), "bm90IHhtbA==").status_code == 403  # base64 of "not xml"
    assert [r["reason"] for r in refusals(in_tenant, tenant)] == ["invalid", "invalid"]
