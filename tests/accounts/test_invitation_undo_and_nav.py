"""Feedback on the members pages: undoing a revoked invitation from its toast, pending invitations under the members
list, and a navigation that offers each role only the pages it can open."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from shared_apps.accounts.errors import AccountError
from shared_apps.accounts.models import Invitation, Role, User
from shared_apps.accounts.permissions import NotAllowed
from shared_apps.accounts.services import invitation_revoke, invitation_revoke_undo
from shared_apps.accounts.services.invitations import REVOKE_UNDO_WINDOW
from tenant_apps.audit.models import AuditEntry
from tenants.models import Tenant
from tests.conftest import HostClient, client_for
from tests.factories import MembershipFactory
from tests.factories.people import InvitationFactory, invite

pytestmark = pytest.mark.django_db

UNDO_FORM = re.compile(r'<form class="flash__action" method="post" action="([^"]+)">')


def revoked(tenant: Tenant, owner: User, email: str = "ada@example.com") -> Invitation:
    invite(tenant, email, invited_by=owner)
    return invitation_revoke(tenant=tenant, invitation=Invitation.objects.get(email=email), acting_user=owner)


# --- undo ------------------------------------------------------------------------------------------------------------


def test_the_revoke_toast_offers_undo_which_reopens_the_same_invitation_and_is_audited(
    tenant_client: HostClient, tenant: Tenant, owner: User, in_tenant: Any
) -> None:
    token = invite(tenant, "ada@example.com", invited_by=owner)
    invitation = Invitation.objects.get()
    tenant_client.force_login(owner)

    # when: revoked, the page that follows says so with an "Undo" button that stays until closed
    page = tenant_client.post(f"/settings/invitations/{invitation.pk}/revoke/", follow=True).content.decode()
    undo = UNDO_FORM.search(page)
    assert undo is not None, page
    assert undo.group(1) == f"/settings/invitations/{invitation.pk}/revoke/undo/"
    assert "data-sticky" in page

    # and: undone, the invitation is pending again and the link already emailed works again
    after = tenant_client.post(undo.group(1), follow=True)
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.PENDING
    assert invitation.revoked_by is None
    assert invitation.token_hash == Invitation.hash_token(token)
    assert "is pending again" in unescape(after.content.decode())
    with in_tenant(tenant):
        entry = AuditEntry.objects.get(action="invitation.restored")
    assert entry.actor_id == owner.pk
    assert entry.target_label == "ada@example.com"


def test_undo_is_refused_once_the_window_has_passed(tenant: Tenant, owner: User) -> None:
    invitation = revoked(tenant, owner)
    Invitation.objects.filter(pk=invitation.pk).update(revoked_at=timezone.now() - REVOKE_UNDO_WINDOW - timedelta(1))

    with pytest.raises(AccountError, match="too late"):
        invitation_revoke_undo(tenant=tenant, invitation=invitation, acting_user=owner)

    assert Invitation.objects.get(pk=invitation.pk).status == Invitation.Status.REVOKED


def test_undo_gives_way_to_a_newer_invitation_or_a_membership(tenant: Tenant, owner: User) -> None:
    first = revoked(tenant, owner)
    invite(tenant, "ada@example.com", invited_by=owner)  # invited again since

    with pytest.raises(AccountError, match="newer invitation"):
        invitation_revoke_undo(tenant=tenant, invitation=first, acting_user=owner)

    joined = revoked(tenant, owner, email="grace@example.com")
    MembershipFactory.create(tenant=tenant, user__email="grace@example.com")
    with pytest.raises(AccountError, match="member now"):
        invitation_revoke_undo(tenant=tenant, invitation=joined, acting_user=owner)

    assert Invitation.objects.open().filter(email="ada@example.com").count() == 1
    assert Invitation.objects.get(pk=joined.pk).status == Invitation.Status.REVOKED


@override_settings(TENANT_DEFAULT_SEAT_LIMIT=2)
def test_undo_needs_a_free_seat(tenant: Tenant, owner: User) -> None:
    invitation = revoked(tenant, owner)
    invite(tenant, "someone-else@example.com", invited_by=owner)  # takes the seat it freed

    with pytest.raises(AccountError):
        invitation_revoke_undo(tenant=tenant, invitation=invitation, acting_user=owner)

    assert Invitation.objects.get(pk=invitation.pk).status == Invitation.Status.REVOKED


def test_a_member_cannot_undo_and_another_workspace_cannot_see_the_invitation(
    tenant: Tenant, owner: User, member: User, other_tenant: Tenant, outsider: User
) -> None:
    invitation = revoked(tenant, owner)

    with pytest.raises(NotAllowed):
        invitation_revoke_undo(tenant=tenant, invitation=invitation, acting_user=member)
    as_member = client_for(tenant)
    as_member.force_login(member)
    assert as_member.post(f"/settings/invitations/{invitation.pk}/revoke/undo/").status_code == 403
    globex = client_for(other_tenant)
    globex.force_login(outsider)
    assert globex.post(f"/settings/invitations/{invitation.pk}/revoke/undo/").status_code == 404

    assert Invitation.objects.get(pk=invitation.pk).status == Invitation.Status.REVOKED


def test_undo_answers_hostile_ids_and_methods_without_a_500(tenant_client: HostClient, owner: User) -> None:
    tenant_client.force_login(owner)

    assert tenant_client.post("/settings/invitations/99999999/revoke/undo/").status_code == 404
    assert tenant_client.get("/settings/invitations/1/revoke/undo/").status_code == 405
    assert tenant_client.post("/settings/invitations/99999999999999999999/revoke/undo/").status_code == 404


# --- pending invitations on the members page -------------------------------------------------------------------------


def test_admins_see_the_newest_pending_invitations_under_the_members(
    tenant_client: HostClient, tenant: Tenant, owner: User, other_tenant: Tenant
) -> None:
    InvitationFactory.create(tenant=tenant, email="pending@example.com", invited_by=owner)
    InvitationFactory.create(tenant=tenant, email="gone@example.com", revoked_at=timezone.now())
    InvitationFactory.create(tenant=tenant, email="old@example.com", expires_at=timezone.now() - timedelta(days=1))
    InvitationFactory.create(tenant=other_tenant, email="globex-invitee@example.com")
    tenant_client.force_login(owner)

    page = unescape(tenant_client.get("/settings/members/").content.decode())

    assert "Invited, not joined yet" in page
    assert "pending@example.com" in page
    assert "gone@example.com" not in page
    assert "old@example.com" not in page
    assert "globex-invitee@example.com" not in page


def test_members_do_not_see_pending_invitations(tenant: Tenant, owner: User, member: User) -> None:
    InvitationFactory.create(tenant=tenant, email="pending@example.com", invited_by=owner)
    client = client_for(tenant)
    client.force_login(member)

    page = client.get("/settings/members/").content.decode()

    assert "pending@example.com" not in page
    assert "Invited, not joined yet" not in page


def _invitation_queries(client: HostClient) -> list[str]:
    client.get("/settings/members/")
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/settings/members/").status_code == 200
    return [q["sql"] for q in queries.captured_queries if "accounts_invitation" in q["sql"]]


def test_the_pending_invitations_cost_one_query_however_many(
    tenant_client: HostClient, tenant: Tenant, owner: User
) -> None:
    tenant_client.force_login(owner)
    InvitationFactory.create(tenant=tenant, invited_by=owner)
    with_one = _invitation_queries(tenant_client)
    InvitationFactory.create_batch(40, tenant=tenant, invited_by=owner)
    with_many = _invitation_queries(tenant_client)

    page = tenant_client.get("/settings/members/").content.decode()
    assert page.count('<li class="list__item">\n      <span class="avatar"') == 5
    assert "All pending invitations" in page
    # the seat count reads invitations too; the preview adds exactly one query, the same for 1 and 41
    assert len(with_many) == len(with_one)
    assert sum("LIMIT 6" in q for q in with_many) == 1


# --- navigation by role ----------------------------------------------------------------------------------------------

NAV_LINK = re.compile(r'<a class="nav__link" href="(/[^"#]*)"')
TAB_LINK = re.compile(r'<nav class="tabs settings-tabs".*?</nav>', re.S)


def nav_links(client: HostClient, path: str) -> set[str]:
    page = client.get(path).content.decode()
    links = set(NAV_LINK.findall(page))
    tabs = TAB_LINK.search(page)
    if tabs:
        links |= set(re.findall(r'href="(/[^"#]*)"', tabs.group(0)))
    return links


@pytest.mark.parametrize(
    ("role", "expected", "hidden"),
    [
        (Role.OWNER, {"/settings/billing/", "/settings/audit/", "/settings/invitations/"}, set()),
        (Role.ADMIN, {"/settings/audit/", "/settings/invitations/", "/settings/api-keys/"}, {"/settings/billing/"}),
        (
            Role.MEMBER,
            {"/", "/settings/", "/settings/members/", "/settings/profile/"},
            {"/settings/billing/", "/settings/audit/", "/settings/invitations/", "/settings/api-keys/"},
        ),
    ],
)
def test_each_role_is_offered_only_pages_that_open(
    tenant: Tenant, owner: User, role: str, expected: set[str], hidden: set[str]
) -> None:
    person = owner if role == Role.OWNER else MembershipFactory.create(tenant=tenant, role=role).user
    client = client_for(tenant)
    client.force_login(person)

    offered = nav_links(client, "/") | nav_links(client, "/settings/")

    assert expected <= offered, offered
    assert not (hidden & offered), offered
    for path in sorted(offered):
        assert client.get(path).status_code == 200, (role, path)
