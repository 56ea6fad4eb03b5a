"""A signed-in user without a membership in the current tenant is refused, whatever their session says."""

from __future__ import annotations

from django.test import Client

from shared_apps.accounts.models import User
from tenants.models import Tenant


def test_a_member_of_acme_is_refused_on_globex(other_tenant_client: Client, owner: User) -> None:
    other_tenant_client.force_login(owner)

    response = other_tenant_client.get("/")

    assert response.status_code == 403
    assert b"have access to this workspace" in response.content
    assert b"Globex" not in response.content  # the refusal says nothing about the workspace
    assert b"/workspaces/" in response.content


def test_a_refused_user_can_still_sign_out(other_tenant_client: Client, owner: User) -> None:
    other_tenant_client.force_login(owner)

    response = other_tenant_client.post("/logout/")

    assert response.status_code == 302
    assert "_auth_user_id" not in other_tenant_client.session


def test_members_get_in(tenant_client: Client, member: User) -> None:
    tenant_client.force_login(member)

    response = tenant_client.get("/")

    assert response.status_code == 200
    assert member.email.encode() in response.content


def test_anonymous_visitors_are_sent_to_the_tenant_login(tenant_client: Client) -> None:
    response = tenant_client.get("/")

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/"


def test_login_on_the_tenant_page_with_email_and_password(tenant_client: Client, member: User) -> None:
    response = tenant_client.post("/login/", {"login": member.email, "password": "correct-horse-battery-staple"})

    assert response.status_code == 302
    assert tenant_client.get("/").status_code == 200


def test_wrong_password_keeps_the_email_and_says_why(tenant_client: Client, member: User) -> None:
    response = tenant_client.post("/login/", {"login": member.email, "password": "wrong"})

    assert response.status_code == 200
    assert member.email.encode() in response.content
    assert "_auth_user_id" not in tenant_client.session


def test_a_non_member_logging_in_on_a_tenant_page_is_refused(other_tenant_client: Client, member: User) -> None:
    other_tenant_client.post("/login/", {"login": member.email, "password": "correct-horse-battery-staple"})

    assert other_tenant_client.get("/").status_code == 403


def test_operators_are_not_members_either(other_tenant: Tenant, other_tenant_client: Client) -> None:
    staff = User.objects.create_superuser(email="ops@atrium.test", password="x-very-long-password")
    other_tenant_client.force_login(staff)

    assert other_tenant_client.get("/").status_code == 403
