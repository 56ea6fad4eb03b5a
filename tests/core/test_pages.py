from __future__ import annotations

import pytest
from django.db import connection
from django.template import loader
from django.test import Client
from django.test.utils import CaptureQueriesContext

from shared_apps.accounts.models import Role, User
from tenants.models import Tenant
from tests.factories import MembershipFactory, ProjectFactory


def test_landing_page_has_one_clear_call_to_action(public_client: Client) -> None:
    response = public_client.get("/")

    assert response.status_code == 200
    assert b"Create your workspace" in response.content


def test_workspaces_page_lists_the_users_workspaces_with_links(
    public_client: Client, owner: User, other_tenant: Tenant
) -> None:
    MembershipFactory.create(user=owner, tenant=other_tenant, role=Role.MEMBER)
    public_client.force_login(owner)

    content = public_client.get("/workspaces/").content.decode()

    assert "Acme Inc" in content
    assert "Globex Corporation" in content
    assert "/workspaces/acme/open/" in content
    assert "/workspaces/globex/open/" in content


def test_workspaces_page_query_count_does_not_grow_with_workspaces(
    public_client: Client, owner: User, other_tenant: Tenant
) -> None:
    public_client.force_login(owner)
    with CaptureQueriesContext(connection) as one:
        public_client.get("/workspaces/")
    MembershipFactory.create(user=owner, tenant=other_tenant)
    with CaptureQueriesContext(connection) as two:
        public_client.get("/workspaces/")

    assert len(one) == len(two)


def test_workspaces_page_has_an_empty_state(public_client: Client, db: None) -> None:
    loner = User.objects.create_user(email="loner@example.com", password="a-long-password-1")
    public_client.force_login(loner)

    assert b"any workspace yet" in public_client.get("/workspaces/").content


def test_tenant_home_shows_the_workspace_name_and_the_signed_in_user(tenant_client: Client, owner: User) -> None:
    tenant_client.force_login(owner)

    content = tenant_client.get("/").content.decode()

    assert "Acme Inc" in content
    assert owner.email in content


def test_tenant_home_query_count_does_not_grow_with_projects(
    tenant: Tenant, tenant_client: Client, owner: User, in_tenant
) -> None:
    tenant_client.force_login(owner)
    with in_tenant(tenant):
        ProjectFactory.create(created_by=owner)
    tenant_client.get("/")
    with CaptureQueriesContext(connection) as one:
        tenant_client.get("/")
    with in_tenant(tenant):
        ProjectFactory.create_batch(5, created_by=owner)
    with CaptureQueriesContext(connection) as six:
        tenant_client.get("/")

    assert len(one) == len(six)


@pytest.mark.parametrize(
    ("template", "code", "heading"),
    [("500.html", "500", "Something went wrong on our side"), ("503.html", "503", "Atrium is briefly unavailable")],
)
def test_the_standalone_error_pages_render_with_nothing_but_their_template(
    template: str, code: str, heading: str
) -> None:
    """Rendered when the request, the context processors or the database may be what failed: no context at all."""

    html = loader.get_template(template).render()

    assert f'<p class="error-code">{code}</p>' in html
    assert f'id="error-title">{heading}</h1>' in html
    assert html.count('href="/static/css/atrium.css"') == 1
    assert "Skip to main content" in html
