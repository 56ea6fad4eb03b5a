"""OpenID Connect single sign-on per workspace, against the suite's real OpenID Connect provider on loopback: the
workspace's connection is an allauth app `ws-<key>` that exists only by name; a person of the workspace's verified
domain signs in through it and joins just in time; an address outside the verified domains is refused (and audited),
so one workspace's identity provider never signs anyone into an account of another's domain."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core import signing
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shared_apps.accounts.models import Membership, Role, User
from shared_apps.identity import secrets as secret_box
from shared_apps.identity.errors import IdentityError
from shared_apps.identity.models import SsoConnection
from shared_apps.identity.selectors import policy_forget
from shared_apps.identity.services.sso import sso_connection_save
from tenant_apps.audit.models import AuditEntry
from tests.conftest import HostClient, host_of
from tests.oidc_fixtures import OIDCProvider, running_oidc_provider

KEY = "acmesso1"


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OIDCProvider]:
    with running_oidc_provider(
        tmp_path_factory.mktemp("sso-idp"), provider_id=f"ws-{KEY}", user_email="ada@acme.com"
    ) as provider:
        yield provider


def _connect(tenant: Any, idp: OIDCProvider) -> SsoConnection:
    policy_forget(tenant_id=tenant.pk)  # made here without the service, which forgets the cached flag itself
    return SsoConnection.objects.create(
        tenant_id=tenant.pk,
        provider_key=KEY,
        server_url=idp.server_url,
        client_id=idp.client_id,
        secret_encrypted=secret_box.encrypt(idp.client_secret),
    )


def _local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def _sign_in(idp: OIDCProvider, root: HostClient, next_path: str) -> Any:
    response = root.post(f"/accounts/oidc/ws-{KEY}/login/", {"process": "login", "next": next_path})
    assert response.status_code == 302, response.content[:500]
    assert response["Location"].startswith(idp.server_url)
    return root.get(_local(idp.login_and_consent(response["Location"])))


def _slug(tenant: Any) -> str:
    return host_of(tenant).removesuffix("." + settings.BASE_DOMAIN)


def test_a_person_of_the_verified_domain_signs_in_through_the_workspaces_idp_and_joins(
    tenant, verified, idp, in_tenant
) -> None:
    _connect(tenant, idp)
    root = HostClient(settings.BASE_DOMAIN)
    # "Sign in with SSO" on the root routes the address's domain to the workspace
    routed = root.post("/sso/", {"email": "Ada@ACME.com"})
    assert routed.status_code == 200
    assert f"/accounts/oidc/ws-{KEY}/login/" in routed.content.decode()
    assert f"/workspaces/{_slug(tenant)}/open/" in routed.content.decode()
    # the flow at the identity provider, back to the handoff to the workspace
    response = _sign_in(idp, root, f"/workspaces/{_slug(tenant)}/open/")
    assert response.status_code == 302, response.content[:500]
    assert response["Location"] == f"/workspaces/{_slug(tenant)}/open/"
    ada = User.objects.get(email="ada@acme.com")
    assert Membership.objects.get(tenant=tenant, user=ada).role == Role.MEMBER
    with in_tenant(tenant):
        assert AuditEntry.objects.filter(action="identity.sso_joined", actor=ada).exists()
    assert root.get(response["Location"]).status_code == 302  # on to the workspace host


def test_an_address_outside_the_verified_domains_is_refused(tenant, idp, in_tenant, fake_dns) -> None:
    _connect(tenant, idp)  # acme.com is not verified
    root = HostClient(settings.BASE_DOMAIN)
    response = _sign_in(idp, root, "/")
    assert response.status_code == 403
    assert b"verified domains" in response.content
    assert not User.objects.filter(email="ada@acme.com").exists()
    assert "_auth_user_id" not in root.session
    with in_tenant(tenant):
        assert AuditEntry.objects.filter(action="identity.sso_refused").exists()


def test_another_workspaces_idp_cannot_sign_in_this_workspaces_people(
    tenant, verified, other_tenant, idp, in_tenant
) -> None:
    # acme.com is acme's verified domain; the identity provider is globex's
    _connect(other_tenant, idp)
    root = HostClient(settings.BASE_DOMAIN)
    response = _sign_in(idp, root, "/")
    assert response.status_code == 403
    assert not User.objects.filter(email="ada@acme.com").exists()
    assert not Membership.objects.filter(tenant=tenant, user__email="ada@acme.com").exists()
    assert not Membership.objects.filter(tenant=other_tenant, user__email="ada@acme.com").exists()


def test_the_root_login_page_never_lists_the_workspaces_providers(tenant, idp) -> None:
    _connect(tenant, idp)
    page = HostClient(settings.BASE_DOMAIN).get("/login/")
    assert page.status_code == 200
    assert f"ws-{KEY}".encode() not in page.content
    assert b"Sign in with SSO" in page.content


def test_the_workspace_sign_in_page_offers_sso_only_when_connected(tenant, idp) -> None:
    client = HostClient(host_of(tenant))
    assert b"Continue with SSO" not in client.get("/login/").content
    _connect(tenant, idp)
    page = client.get("/login/").content.decode()
    assert "Continue with SSO" in page
    assert f"/sso/?workspace={_slug(tenant)}" in page


@pytest.mark.parametrize(
    ("server_url", "field"),
    [
        ("", "server_url"),
        ("ftp://idp.acme.com", "server_url"),
        ("http://idp.acme.com", "server_url"),
        ("https://user:pw@idp.acme.com", "server_url"),
        ("https://idp.acme.com/?q=1", "server_url"),
        ("https://idp\x00.acme.com", "server_url"),
    ],
)
def test_a_connection_with_a_bad_issuer_is_refused(tenant, owner, server_url, field) -> None:
    with pytest.raises(IdentityError) as caught:
        sso_connection_save(tenant=tenant, acting_user=owner, server_url=server_url, client_id="c", client_secret="s")
    assert caught.value.field == field
    assert not SsoConnection.objects.exists()


def test_the_secret_is_stored_encrypted_and_kept_when_left_empty(tenant, owner) -> None:
    row = sso_connection_save(
        tenant=tenant, acting_user=owner, server_url="https://idp.acme.com", client_id="c", client_secret="s3cret"
    )
    assert "s3cret" not in row.secret_encrypted
    assert secret_box.decrypt(row.secret_encrypted) == "s3cret"
    row = sso_connection_save(
        tenant=tenant, acting_user=owner, server_url="https://idp2.acme.com", client_id="c2", client_secret=""
    )
    assert secret_box.decrypt(row.secret_encrypted) == "s3cret"


def test_sso_start_refuses_hostile_input_with_a_message(public_client) -> None:
    for email in ("", "no-at-sign", "a\x00@acme.com", "x" * 5000):
        response = public_client.post("/sso/", {"email": email})
        assert response.status_code in (400, 404)
        assert b"field-error" in response.content
    assert public_client.get("/sso/?workspace=" + "x" * 5000).status_code == 200


def test_sso_start_query_counts(public_client, tenant, verified, idp) -> None:
    _connect(tenant, idp)
    with CaptureQueriesContext(connection) as page:
        assert public_client.get("/sso/").status_code == 200
    with CaptureQueriesContext(connection) as routed:
        assert public_client.post("/sso/", {"email": "ada@acme.com"}).status_code == 200
    with CaptureQueriesContext(connection) as unknown:
        assert public_client.post("/sso/", {"email": "ada@nobody.com"}).status_code == 404
    assert len(page) <= 2, [q["sql"] for q in page.captured_queries]
    assert len(routed) <= 5, [q["sql"] for q in routed.captured_queries]
    assert len(unknown) <= 3, [q["sql"] for q in unknown.captured_queries]


def test_test_connection_runs_an_oidc_sign_in_and_changes_nothing(
    tenant, owner, verified, idp, in_tenant, tenant_client
) -> None:
    _connect(tenant, idp)
    tenant_client.force_login(owner)
    with in_tenant(tenant):
        entries = AuditEntry.objects.count()
    ticket = tenant_client.post("/settings/sso/connection/test/")
    assert ticket.status_code == 302
    root = HostClient(settings.BASE_DOMAIN)
    page = root.get(_local(ticket["Location"]))
    assert page.status_code == 200
    assert f"/accounts/oidc/ws-{KEY}/login/" in page.content.decode()
    response = _sign_in(idp, root, "/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "ada@acme.com" in body
    assert "would be accepted" in body
    assert "email_verified" in body  # a claim as the provider sent it
    assert not User.objects.filter(email="ada@acme.com").exists()
    assert not Membership.objects.filter(tenant=tenant, user__email="ada@acme.com").exists()
    assert "_auth_user_id" not in root.session
    with in_tenant(tenant):
        assert AuditEntry.objects.count() == entries


def test_a_test_ticket_of_another_workspace_or_made_up_is_refused(tenant, idp, public_client) -> None:
    row = _connect(tenant, idp)
    assert public_client.get("/sso/test/made-up/").status_code == 404
    forged = signing.dumps({"c": row.pk, "k": "otherkey", "u": 1}, salt="identity.sso_test")
    assert public_client.get(f"/sso/test/{forged}/").status_code == 404
    assert "identity_sso_test" not in public_client.session
