from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from shared_apps.accounts.models import User
from tenants.models import Tenant
from tests.factories import MembershipFactory


@pytest.fixture
def operator(db: None) -> User:
    return User.objects.create_superuser(email="ops@atrium.test", password="operator-password-123")


@pytest.fixture
def admin_client(public_client: Client, operator: User) -> Client:
    public_client.force_login(operator)
    return public_client


@pytest.mark.parametrize(
    "path",
    ["/admin/", "/admin/tenants/tenant/", "/admin/accounts/user/", "/admin/accounts/membership/"],
)
def test_operators_use_the_admin_on_the_root_domain(admin_client: Client, tenant: Tenant, path: str) -> None:
    assert admin_client.get(path).status_code == 200


def test_the_tenant_list_shows_hosts_statuses_and_member_counts(admin_client: Client, tenant: Tenant) -> None:
    MembershipFactory.create_batch(3, tenant=tenant)

    content = admin_client.get("/admin/tenants/tenant/").content.decode()

    assert "acme.localhost" in content
    assert "globex.localhost" in content
    assert "Atrium (platform)" not in content  # the public tenant is not a workspace


def test_tenant_change_page_inlines_its_domains(admin_client: Client, tenant: Tenant) -> None:
    content = admin_client.get(f"/admin/tenants/tenant/{tenant.pk}/change/").content.decode()

    assert "acme.localhost" in content


def test_admin_lists_do_not_grow_queries_with_rows(admin_client: Client, tenant: Tenant, other_tenant: Tenant) -> None:
    MembershipFactory.create_batch(2, tenant=tenant)
    for path in ("/admin/tenants/tenant/", "/admin/accounts/user/", "/admin/accounts/membership/"):
        with CaptureQueriesContext(connection) as few:
            admin_client.get(path)
        MembershipFactory.create_batch(5, tenant=other_tenant)
        with CaptureQueriesContext(connection) as many:
            admin_client.get(path)
        assert len(many) == len(few), path


def test_members_who_are_not_staff_cannot_use_the_admin(public_client: Client, owner: User) -> None:
    public_client.force_login(owner)

    response = public_client.get("/admin/")

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_tenant_hosts_have_no_admin(tenant_client: Client, operator: User, tenant: Tenant) -> None:
    MembershipFactory.create(tenant=tenant, user=operator)
    tenant_client.force_login(operator)

    assert tenant_client.get("/admin/").status_code == 404
