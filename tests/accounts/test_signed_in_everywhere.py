"""Signed in once, signed in everywhere you belong: "Continue as <email>" from a workspace's sign-in page (a POST, then
a confirmation on the root before any ticket), "sign out everywhere" offered on a workspace, a non-member told plainly
(no "Successfully signed in" before a 403), and the "Switch workspace" menu."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shared_apps.accounts.models import LoginHandoff, Role, User
from tenants.models import Tenant
from tests.conftest import HostClient, client_for
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def test_continue_as_signs_a_root_member_in_after_a_confirmation_with_their_email(
    public_client: HostClient, tenant: Tenant, owner: User
) -> None:
    public_client.force_login(owner)
    workspace = client_for(tenant)
    login_page = workspace.get("/login/").content.decode()
    assert 'action="/auth/start/"' in login_page
    assert "Continue with your Atrium account" in login_page

    started = workspace.post("/auth/start/", {"next": "/settings/"})
    assert started.status_code == 302
    assert "confirm=1" in started["Location"]
    # the root asks first: no ticket exists until the person confirms (a GET never signs anybody in)
    confirm = public_client.get(local(started["Location"]))
    assert confirm.status_code == 200
    assert "Continue as owner@acme.test" in confirm.content.decode()
    assert not LoginHandoff.objects.exists()
    binding = re.search(r'name="binding" value="([0-9a-f]{64})"', confirm.content.decode())
    assert binding
    minted = public_client.post(urlsplit(started["Location"]).path, {"binding": binding.group(1), "next": "/settings/"})
    assert minted.status_code == 302
    assert "/auth/handoff/" in minted["Location"]
    consumed = workspace.get(local(minted["Location"]))
    assert consumed.status_code == 302
    assert consumed["Location"] == "/settings/"
    assert workspace.get("/settings/").status_code == 200


def test_continue_as_refuses_a_root_account_that_is_not_a_member_and_links_its_own_workspaces(
    public_client: HostClient, tenant: Tenant, other_tenant: Tenant, owner: User, outsider: User
) -> None:
    public_client.force_login(outsider)
    started = client_for(tenant).post("/auth/start/", {"next": "/"})

    refused = public_client.get(local(started["Location"]))

    assert refused.status_code == 404
    page = refused.content.decode()
    assert "not a member" in page
    assert other_tenant.name in page  # their own workspace, to open instead
    assert tenant.name not in page
    assert not LoginHandoff.objects.exists()


def test_a_forged_confirmation_cannot_mint_a_ticket_for_a_workspace_the_account_is_not_in(
    public_client: HostClient, tenant: Tenant, owner: User, outsider: User
) -> None:
    public_client.force_login(outsider)
    response = public_client.post("/workspaces/acme/open/", {"binding": "a" * 64, "next": "/"})
    assert response.status_code == 404
    assert not LoginHandoff.objects.exists()


def test_sign_out_on_a_workspace_offers_sign_out_everywhere(tenant: Tenant, owner: User) -> None:
    workspace = client_for(tenant)
    workspace.force_login(owner)
    home = workspace.get("/").content.decode()
    assert 'href="/logout/"' in home
    page = workspace.get("/logout/").content.decode()
    assert 'action="/logout/everywhere/"' in page
    assert "Sign out everywhere" in page


def test_a_non_member_signing_in_on_a_workspace_is_told_plainly_without_a_success_message(
    tenant: Tenant, other_tenant: Tenant, owner: User
) -> None:
    stranger = UserFactory.create(email="stranger@example.com", password="a-strong-passphrase-42")
    MembershipFactory.create(tenant=other_tenant, user=stranger, role=Role.MEMBER)
    workspace = client_for(tenant)

    response = workspace.post(
        "/login/", {"login": "stranger@example.com", "password": "a-strong-passphrase-42"}, follow=True
    )

    page = response.content.decode()
    assert response.status_code == 403
    assert "Successfully signed in" not in page
    assert "not a member of this workspace" in page
    assert other_tenant.name in page
    assert "/workspaces/globex/open/" in page
    assert tenant.name not in page  # the refused workspace is not named


def test_the_switch_menu_lists_the_persons_workspaces_in_one_query(
    tenant: Tenant, other_tenant: Tenant, owner: User
) -> None:
    MembershipFactory.create(tenant=other_tenant, user=owner, role=Role.MEMBER)
    workspace = client_for(tenant)
    workspace.force_login(owner)
    home = workspace.get("/").content.decode()
    assert 'data-switcher="/switch/"' in home
    workspace.get("/switch/")

    with CaptureQueriesContext(connection) as queries:
        response = workspace.get("/switch/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "Acme Inc" in page
    assert "/workspaces/globex/open/" in page
    assert 'aria-current="true"' in page
    switcher_queries = [q["sql"] for q in queries.captured_queries if "accounts_membership" in q["sql"]]
    assert len(switcher_queries) <= 2  # the membership gate's, and the menu's one


def test_the_switch_menu_shows_nothing_of_workspaces_one_is_not_in(
    tenant: Tenant, other_tenant: Tenant, owner: User, outsider: User
) -> None:
    workspace = client_for(tenant)
    workspace.force_login(owner)
    page = workspace.get("/switch/").content.decode()
    assert other_tenant.name not in page
