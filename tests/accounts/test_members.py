"""The members page (name, email, role, joined, last seen, MFA; search; pagination; the same number of queries at 1 and
500 members), role changes, removal, leaving, ownership transfer and the last-owner rules, and isolation."""

from __future__ import annotations

from html import unescape
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shared_apps.accounts.errors import LastOwner
from shared_apps.accounts.models import Membership, Role, User
from shared_apps.accounts.services import member_leave, member_remove, member_role_change
from tenant_apps.audit.models import AuditEntry
from tenants.models import Tenant
from tests.conftest import HostClient, client_for
from tests.factories import MembershipFactory
from tests.factories.people import add_members


@pytest.fixture
def admin(tenant: Tenant) -> User:
    return MembershipFactory.create(tenant=tenant, role=Role.ADMIN, user__email="admin@acme.test").user


def roles(tenant: Tenant) -> dict[str, str]:
    return dict(Membership.objects.filter(tenant=tenant).values_list("user__email", "role"))


def text(response: Any) -> str:
    """The page as read: entities decoded, and without the <wbr> wrapping points inside addresses."""
    return unescape(response.content.decode()).replace("<wbr>", "")


# --- the page --------------------------------------------------------------------------------------------------------


def test_admins_see_each_members_name_email_role_joined_last_seen_and_mfa(
    tenant_client: HostClient, owner: User, member: User
) -> None:
    Authenticator.objects.create(user=member, type=Authenticator.Type.TOTP, data={"secret": "x"})
    owner.name = "Olive Owner"
    owner.save()
    tenant_client.force_login(owner)

    response = tenant_client.get("/settings/members/")

    assert response.status_code == 200
    content = text(response)
    for expected in ("Olive Owner", "owner@acme.test", "member@acme.test", "Joined", "Last seen", "Two-factor"):
        assert expected in content
    rows = {m["membership"].user.email: m["membership"] for m in response.context["rows"]}
    assert rows["member@acme.test"].mfa_enabled is True
    assert rows["owner@acme.test"].mfa_enabled is False
    assert [r["membership"].role for r in response.context["rows"]] == ["owner", "member"]  # owners first
    assert '<span class="badge badge--active badge--dot">On</span>' in content
    assert "Invite people" in content


def test_members_see_the_directory_without_security_columns_or_controls(
    tenant_client: HostClient, owner: User, member: User
) -> None:
    tenant_client.force_login(member)

    content = text(tenant_client.get("/settings/members/"))

    assert "owner@acme.test" in content
    assert "Two-factor" not in content
    assert "Last seen" not in content
    assert "/remove/" not in content
    assert "Invite people" not in content


def test_search_by_name_or_email_and_pagination(tenant_client: HostClient, owner: User, tenant: Tenant) -> None:
    add_members(tenant, 60)
    tenant_client.force_login(owner)

    first = tenant_client.get("/settings/members/")
    second = tenant_client.get("/settings/members/", {"page": 2})
    found = tenant_client.get("/settings/members/", {"q": "Person 0042"})
    by_email = tenant_client.get("/settings/members/", {"q": "BULK7@"})
    nothing = tenant_client.get("/settings/members/", {"q": "zzz-nobody"})

    assert len(first.context["rows"]) == 50
    assert first.context["page"].paginator.count == 61
    assert len(second.context["rows"]) == 11
    assert 'rel="next"' in text(first)
    assert "?page=2" in text(first)
    assert [r["membership"].user.email for r in found.context["rows"]] == ["bulk42@example.com"]
    assert [r["membership"].user.email for r in by_email.context["rows"]] == ["bulk7@example.com"]
    assert "No member matches “zzz-nobody”" in text(nothing)


def count_queries(client: HostClient, path: str) -> list[str]:
    client.get(path)  # warm: routing cache, content types
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    return [q["sql"] for q in queries.captured_queries]


def test_the_members_page_costs_the_same_queries_at_1_and_500_members(
    tenant_client: HostClient, owner: User, tenant: Tenant
) -> None:
    tenant_client.force_login(owner)
    alone = count_queries(tenant_client, "/settings/members/")
    add_members(tenant, 500)

    crowded = count_queries(tenant_client, "/settings/members/")
    searched = count_queries(tenant_client, "/settings/members/?q=Person&page=3")

    assert len(crowded) == len(alone) == len(searched), (alone, crowded)
    # session, user, membership, count, page, seats (2), pending invitations (1), and no query per row
    assert len(alone) <= 9, alone
    print(f"members page: {len(alone)} queries at 1 member, {len(crowded)} at 501")


# --- roles -----------------------------------------------------------------------------------------------------------


def test_an_admin_makes_a_member_an_admin(
    tenant_client: HostClient, tenant: Tenant, admin: User, member: User, in_tenant: Any
) -> None:
    tenant_client.force_login(admin)
    target = Membership.objects.get(user=member)

    response = tenant_client.post(f"/settings/members/{target.pk}/role/", {"role": "admin"})

    assert response.status_code == 302
    assert roles(tenant)[member.email] == Role.ADMIN
    with in_tenant(tenant):
        entry = AuditEntry.objects.get(action="member.role_changed")
    assert (entry.actor, entry.target_label, entry.metadata) == (admin, member.email, {"from": "member", "to": "admin"})


@pytest.mark.parametrize(("target_role", "new_role"), [("owner", "admin"), ("member", "owner"), ("admin", "owner")])
def test_admins_cannot_touch_owners_or_make_owners(
    tenant_client: HostClient, tenant: Tenant, owner: User, admin: User, target_role: str, new_role: str
) -> None:
    target = MembershipFactory.create(tenant=tenant, role=target_role)
    tenant_client.force_login(admin)
    before = roles(tenant)

    response = tenant_client.post(f"/settings/members/{target.pk}/role/", {"role": new_role})

    assert response.status_code == 403
    assert roles(tenant) == before


def test_an_owner_makes_someone_an_owner(tenant_client: HostClient, tenant: Tenant, owner: User, member: User) -> None:
    tenant_client.force_login(owner)

    tenant_client.post(f"/settings/members/{Membership.objects.get(user=member).pk}/role/", {"role": "owner"})

    assert roles(tenant)[member.email] == Role.OWNER


def test_an_unknown_role_changes_nothing(tenant_client: HostClient, tenant: Tenant, owner: User, member: User) -> None:
    tenant_client.force_login(owner)

    tenant_client.post(f"/settings/members/{Membership.objects.get(user=member).pk}/role/", {"role": "god"})

    assert roles(tenant)[member.email] == Role.MEMBER


# --- the last owner --------------------------------------------------------------------------------------------------


def test_the_last_owner_cannot_be_demoted(tenant_client: HostClient, tenant: Tenant, owner: User) -> None:
    tenant_client.force_login(owner)

    response = tenant_client.post(f"/settings/members/{Membership.objects.get(user=owner).pk}/role/", {"role": "admin"})

    assert response.status_code == 302
    assert roles(tenant)[owner.email] == Role.OWNER
    messages = [str(m) for m in tenant_client.get("/settings/members/").context["messages"]]
    assert any("is the last owner of Acme Inc" in m for m in messages)


def test_the_last_owner_cannot_leave(tenant_client: HostClient, tenant: Tenant, owner: User) -> None:
    tenant_client.force_login(owner)

    response = tenant_client.post("/settings/leave/")

    assert response.status_code == 302
    assert response["Location"] == "/settings/"
    assert roles(tenant)[owner.email] == Role.OWNER
    assert tenant_client.get("/").status_code == 200  # still signed in, still a member


def test_the_last_owner_cannot_be_removed_by_anyone(tenant: Tenant, owner: User) -> None:
    # through the service directly: even an owner (of two, one of whom is gone mid-flight) cannot remove the last one
    with pytest.raises(LastOwner):
        member_leave(tenant=tenant, user=owner)
    second = MembershipFactory.create(tenant=tenant, role=Role.OWNER).user
    member_remove(tenant=tenant, membership=Membership.objects.get(user=owner), acting_user=second)
    with pytest.raises(LastOwner):
        member_role_change(
            tenant=tenant, membership=Membership.objects.get(user=second), role=Role.MEMBER, acting_user=second
        )
    assert roles(tenant) == {second.email: Role.OWNER}


def test_with_two_owners_one_may_step_down_or_leave(tenant_client: HostClient, tenant: Tenant, owner: User) -> None:
    MembershipFactory.create(tenant=tenant, role=Role.OWNER, user__email="co@acme.test")
    tenant_client.force_login(owner)

    response = tenant_client.post("/settings/leave/")

    assert response.status_code == 302
    assert response["Location"] == "http://localhost/workspaces/"
    assert owner.email not in roles(tenant)
    assert tenant_client.get("/").status_code == 302  # signed out of this workspace's host


def test_admins_cannot_remove_owners_and_nobody_removes_themselves(
    tenant_client: HostClient, tenant: Tenant, owner: User, admin: User
) -> None:
    tenant_client.force_login(admin)
    before = roles(tenant)

    assert tenant_client.post(f"/settings/members/{Membership.objects.get(user=owner).pk}/remove/").status_code == 403
    response = tenant_client.post(f"/settings/members/{Membership.objects.get(user=admin).pk}/remove/")
    assert response.status_code == 302
    assert roles(tenant) == before


# --- removing, leaving, transferring ---------------------------------------------------------------------------------


def test_an_admin_removes_a_member_after_confirming(
    tenant_client: HostClient, tenant: Tenant, admin: User, member: User, in_tenant: Any
) -> None:
    tenant_client.force_login(admin)
    target = Membership.objects.get(user=member)

    confirm = tenant_client.get(f"/settings/members/{target.pk}/remove/")
    assert "Remove" in text(confirm)
    assert member.email in text(confirm)
    assert Membership.objects.filter(pk=target.pk).exists()  # a GET changes nothing
    response = tenant_client.post(f"/settings/members/{target.pk}/remove/")

    assert response.status_code == 302
    assert not Membership.objects.filter(pk=target.pk).exists()
    assert User.objects.filter(pk=member.pk).exists()  # the account stays: it is global
    with in_tenant(tenant):
        assert AuditEntry.objects.filter(action="member.removed", actor=admin, target_label=member.email).exists()
    removed = client_for(tenant)
    removed.force_login(member)
    assert removed.get("/").status_code == 403


def test_a_member_leaves(tenant_client: HostClient, tenant: Tenant, member: User, in_tenant: Any) -> None:
    tenant_client.force_login(member)

    assert tenant_client.get("/settings/leave/").status_code == 200
    response = tenant_client.post("/settings/leave/")

    assert response.status_code == 302
    assert not Membership.objects.filter(user=member, tenant=tenant).exists()
    with in_tenant(tenant):
        assert AuditEntry.objects.filter(action="member.left", actor=member).exists()


def test_an_owner_transfers_ownership_and_becomes_admin(
    tenant_client: HostClient, tenant: Tenant, owner: User, member: User, in_tenant: Any
) -> None:
    tenant_client.force_login(owner)
    target = Membership.objects.get(user=member)

    assert "Transfer ownership to" in text(tenant_client.get(f"/settings/members/{target.pk}/transfer/"))
    response = tenant_client.post(f"/settings/members/{target.pk}/transfer/")

    assert response.status_code == 302
    assert roles(tenant) == {owner.email: Role.ADMIN, member.email: Role.OWNER}
    with in_tenant(tenant):
        assert AuditEntry.objects.get(action="ownership.transferred").metadata["to"] == member.email


# --- isolation -------------------------------------------------------------------------------------------------------


def test_an_admin_of_acme_cannot_see_or_change_globex_members_by_id_or_host(
    tenant: Tenant, other_tenant: Tenant, owner: User, outsider: User
) -> None:
    globex_member = MembershipFactory.create(tenant=other_tenant, role=Role.MEMBER, user__email="g@globex.test")
    acme = client_for(tenant)
    acme.force_login(owner)
    before = sorted(Membership.objects.values_list("id", "tenant_id", "role"))

    # by id on acme's host: "not found", whatever the action
    assert acme.post(f"/settings/members/{globex_member.pk}/role/", {"role": "admin"}).status_code == 404
    assert acme.get(f"/settings/members/{globex_member.pk}/remove/").status_code == 404
    assert acme.post(f"/settings/members/{globex_member.pk}/remove/").status_code == 404
    assert acme.post(f"/settings/members/{globex_member.pk}/transfer/").status_code == 404
    page = text(acme.get("/settings/members/", {"q": "globex"}))
    assert "g@globex.test" not in page
    assert "owner@globex.test" not in page
    # by host: globex's pages refuse a non-member, and acme's cookie is worth nothing there
    globex = client_for(other_tenant)
    globex.force_login(owner)
    assert globex.get("/settings/members/").status_code == 403
    assert globex.post(f"/settings/members/{globex_member.pk}/remove/").status_code == 403
    stolen = client_for(other_tenant)
    stolen.cookies["sessionid"] = acme.cookies["sessionid"].value
    assert stolen.post(f"/settings/members/{globex_member.pk}/remove/").status_code == 302  # anonymous: to sign-in

    assert sorted(Membership.objects.values_list("id", "tenant_id", "role")) == before
