"""Profile & security: name, email addresses, password, MFA, active sessions and "sign out other sessions"."""

from __future__ import annotations

from html import unescape
from typing import Any

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shared_apps.accounts.models import User
from tenant_apps.audit.models import AuditEntry
from tenants.models import Tenant
from tests.conftest import HostClient, client_for
from tests.factories.accounts import PASSWORD


def test_the_page_shows_name_addresses_password_mfa_and_sessions(
    tenant: Tenant, member: User, public_client: HostClient
) -> None:
    EmailAddress.objects.create(user=member, email="alt@example.com", verified=False)
    public_client.post("/accounts/login/", {"login": member.email, "password": PASSWORD})  # a second session
    acme = client_for(tenant)
    acme.post("/login/", {"login": member.email, "password": PASSWORD})
    Authenticator.objects.create(user=member, type=Authenticator.Type.TOTP, data={})

    response = acme.get("/settings/profile/")

    content = unescape(response.content.decode())
    assert response.status_code == 200
    assert member.email in content
    assert "alt@example.com" in content
    assert "Not verified" in content
    assert "Change password" in content
    assert 'href="/accounts/password/change/"' in content
    assert "Two-factor authentication" in content
    assert "Manage two-factor" in content
    assert response.context["other_session_count"] == 1
    assert "This session" in content
    assert "Sign out of 1 other place" in content


def test_saving_the_name_keeps_errors_next_to_the_field(tenant_client: HostClient, member: User) -> None:
    tenant_client.force_login(member)

    too_long = tenant_client.post("/settings/profile/", {"name": "x" * 151})
    assert too_long.status_code == 200
    assert "Ensure this value has at most 150 characters" in unescape(too_long.content.decode())
    assert f'value="{"x" * 151}"' in too_long.content.decode()

    response = tenant_client.post("/settings/profile/", {"name": "  Ada Lovelace "})
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.name == "Ada Lovelace"


def test_sign_out_other_sessions_keeps_this_one(
    tenant: Tenant, member: User, public_client: HostClient, in_tenant: Any
) -> None:
    public_client.post("/accounts/login/", {"login": member.email, "password": PASSWORD})
    acme = client_for(tenant)
    acme.post("/login/", {"login": member.email, "password": PASSWORD})
    assert public_client.get("/workspaces/").status_code == 200

    response = acme.post("/settings/profile/sessions/end-others/")

    assert response.status_code == 302
    assert public_client.get("/workspaces/").status_code == 302  # the root session ended
    assert acme.get("/settings/profile/").status_code == 200  # this one did not
    with in_tenant(tenant):
        entry = AuditEntry.objects.get(action="auth.sessions_ended")
    assert entry.metadata == {"count": 1}


def test_the_profile_page_has_a_fixed_number_of_queries(tenant_client: HostClient, member: User) -> None:
    tenant_client.force_login(member)
    tenant_client.get("/settings/profile/")

    with CaptureQueriesContext(connection) as queries:
        tenant_client.get("/settings/profile/")

    assert len(queries) <= 8, [q["sql"] for q in queries.captured_queries]


def test_the_general_page_shows_seats_and_the_way_out(tenant_client: HostClient, member: User) -> None:
    tenant_client.force_login(member)

    content = unescape(tenant_client.get("/settings/").content.decode())

    assert "acme.localhost" in content
    assert "1 of 25 used" in content
    assert "Leave workspace" in content
