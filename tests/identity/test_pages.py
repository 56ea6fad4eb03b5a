"""Settings → Single sign-on: owners and admins manage domains, the policy and SCIM tokens; members are refused;
hostile input is answered with the form and a message; the page's queries are fixed."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shared_apps.identity.models import ScimToken, VerifiedDomain
from shared_apps.identity.selectors import policy_for
from tests.conftest import client_for


@pytest.fixture
def admin_client(tenant, owner):
    client = client_for(tenant)
    client.force_login(owner)
    return client


def test_the_page_shows_domains_policy_and_tokens(admin_client, tenant, owner, fake_dns) -> None:
    assert admin_client.post("/settings/sso/domains/", {"domain": "acme.com"}).status_code == 302
    page = admin_client.get("/settings/sso/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "_atrium-verification.acme.com" in body
    assert "atrium-verification=" in body
    assert "/scim/v2/" in body


def test_a_domain_is_checked_on_demand(admin_client, tenant, fake_dns) -> None:
    admin_client.post("/settings/sso/domains/", {"domain": "acme.com"})
    row = VerifiedDomain.objects.get(tenant_id=tenant.pk)
    fake_dns.records["_atrium-verification.acme.com"] = [f"atrium-verification={row.token}"]
    response = admin_client.post(f"/settings/sso/domains/{row.pk}/check/", follow=True)
    assert "acme.com is verified" in response.content.decode()
    row.refresh_from_db()
    assert row.is_verified


@pytest.mark.parametrize("domain", ["", "gmail.com", "a\x00b.com", "x" * 300, "bob@acme.com", "<script>.com"])
def test_hostile_domains_get_the_form_back_with_a_message(admin_client, tenant, domain) -> None:
    response = admin_client.post("/settings/sso/domains/", {"domain": domain})
    assert response.status_code == 400
    assert b"field-error" in response.content
    assert not VerifiedDomain.objects.filter(tenant_id=tenant.pk).exists()


def test_the_policy_is_saved(admin_client, tenant) -> None:
    response = admin_client.post(
        "/settings/sso/policy/", {"require_sso": "on", "session_lifetime_minutes": "120", "jit_role": "admin"}
    )
    assert response.status_code == 302
    policy = policy_for(tenant_id=tenant.pk)
    assert policy.require_sso
    assert not policy.require_two_factor
    assert policy.session_lifetime_minutes == 120
    assert policy.jit_role == "admin"
    refused = admin_client.post("/settings/sso/policy/", {"session_lifetime_minutes": "1", "jit_role": "owner"})
    assert refused.status_code == 400
    assert policy_for(tenant_id=tenant.pk).jit_role == "admin"


def test_a_scim_token_is_shown_once_and_revoked(admin_client, tenant) -> None:
    created = admin_client.post("/settings/sso/scim-tokens/", {"name": "Okta"})
    assert created.status_code == 200
    assert b"shown only this once" in created.content
    assert b'data-copy="#new-scim-token-secret"' in created.content
    token = ScimToken.objects.get(tenant_id=tenant.pk)
    assert token.prefix.encode() in created.content
    again = admin_client.get("/settings/sso/")
    assert b"shown only this once" not in again.content
    assert admin_client.post(f"/settings/sso/scim-tokens/{token.pk}/revoke/").status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_members_are_refused_and_nothing_changes(tenant, member) -> None:
    client = client_for(tenant)
    client.force_login(member)
    assert client.get("/settings/sso/").status_code == 403
    assert client.post("/settings/sso/domains/", {"domain": "acme.com"}).status_code == 403
    assert client.post("/settings/sso/scim-tokens/", {"name": "x"}).status_code == 403
    assert not VerifiedDomain.objects.exists()
    assert not ScimToken.objects.exists()


def test_another_workspaces_domain_and_token_are_not_found(admin_client, other_tenant, outsider) -> None:
    theirs = VerifiedDomain.objects.create(tenant_id=other_tenant.pk, domain="globex.com", token="t")
    token = ScimToken.objects.create(tenant_id=other_tenant.pk, name="B", prefix="p", secret_hash="h" * 64)
    assert admin_client.post(f"/settings/sso/domains/{theirs.pk}/check/").status_code == 404
    assert admin_client.post(f"/settings/sso/domains/{theirs.pk}/remove/").status_code == 404
    assert admin_client.post(f"/settings/sso/scim-tokens/{token.pk}/revoke/").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
    assert VerifiedDomain.objects.filter(pk=theirs.pk).exists()
    assert b"globex" not in admin_client.get("/settings/sso/").content


def test_the_page_queries_do_not_grow_with_rows(admin_client, tenant, owner, fake_dns) -> None:
    admin_client.get("/settings/sso/")
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get("/settings/sso/").status_code == 200
    for i in range(5):
        VerifiedDomain.objects.create(tenant_id=tenant.pk, domain=f"d{i}.com", token="t")
        ScimToken.objects.create(
            tenant_id=tenant.pk, name=f"t{i}", prefix="p", secret_hash=f"{i}" * 64, created_by=owner
        )
    with CaptureQueriesContext(connection) as many:
        assert admin_client.get("/settings/sso/").status_code == 200
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]
