"""An operator sent from the admin to set up two-factor finds the way back to /admin/ on the account pages."""

from __future__ import annotations

from django.test import Client

from shared_apps.accounts.models import User
from tenants.models import Tenant
from tests.conftest import HostClient
from tests.factories import MembershipFactory
from tests.helpers import operator_create


def test_an_operators_account_pages_link_back_to_the_admin(public_client: Client) -> None:
    public_client.force_login(operator_create("ops@atrium.test"))

    for path in ("/accounts/2fa/", "/accounts/email/"):
        page = public_client.get(path).content.decode()

        assert 'href="/admin/"' in page, path
        assert "Back to the operators' admin" in page.replace("&#x27;", "'"), path


def test_people_who_are_not_staff_get_no_admin_link(public_client: Client, member: User) -> None:
    public_client.force_login(member)

    assert 'href="/admin/"' not in public_client.get("/accounts/2fa/").content.decode()


def test_no_admin_link_on_a_workspace_host_where_there_is_no_admin(tenant: Tenant, tenant_client: HostClient) -> None:
    operator = operator_create("ops-ws@atrium.test")
    MembershipFactory.create(tenant=tenant, user=operator)
    tenant_client.force_login(operator)

    page = tenant_client.get("/accounts/2fa/")

    assert page.status_code == 200
    assert "Two-factor authentication" in page.content.decode()
    assert 'href="/admin/"' not in page.content.decode()
