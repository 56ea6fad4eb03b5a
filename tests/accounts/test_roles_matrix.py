"""The permission matrix: every action and role (owner, admin, member, non-member, anonymous) gives the expected status,
and a refusal changes nothing (memberships, invitations, the audit log)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from shared_apps.accounts.models import Invitation, Membership, Role, User
from shared_apps.accounts.permissions import MATRIX, Action, assignable_roles, can, can_manage
from tenant_apps.audit.models import AuditEntry
from tenants.models import Tenant
from tests.conftest import HostClient, client_for
from tests.factories import MembershipFactory
from tests.factories.people import InvitationFactory

ROLES = ["owner", "admin", "member", "non-member", "anonymous"]


# --- the table itself ----------------------------------------------------------------------------------------------

EXPECTED_MATRIX = {
    Action.SETTINGS_VIEW: {"owner", "admin", "member"},
    Action.MEMBERS_VIEW: {"owner", "admin", "member"},
    Action.MEMBERS_VIEW_SECURITY: {"owner", "admin"},
    Action.MEMBERS_INVITE: {"owner", "admin"},
    Action.INVITATIONS_MANAGE: {"owner", "admin"},
    Action.MEMBERS_CHANGE_ROLE: {"owner", "admin"},
    Action.MEMBERS_REMOVE: {"owner", "admin"},
    Action.MEMBERS_LEAVE: {"owner", "admin", "member"},
    Action.OWNERS_MANAGE: {"owner"},
    Action.OWNERSHIP_TRANSFER: {"owner"},
    Action.BILLING_MANAGE: {"owner"},
    Action.WORKSPACE_MANAGE: {"owner"},
    Action.DOMAINS_MANAGE: {"owner"},
    Action.WORKSPACE_DELETE: {"owner"},
    Action.AUDIT_VIEW: {"owner", "admin"},
    Action.AUDIT_EXPORT: {"owner", "admin"},
    Action.API_KEYS_USE: {"owner", "admin", "member"},
    Action.API_KEYS_MANAGE: {"owner", "admin"},
    Action.WEBHOOKS_MANAGE: {"owner", "admin"},
    Action.IDENTITY_MANAGE: {"owner", "admin"},
    Action.LABELS_MANAGE: {"owner", "admin"},
}


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("role", ["owner", "admin", "member", None])
def test_the_matrix_answers_every_action_for_every_role(action: Action, role: str | None) -> None:
    assert can(role, action) is (role in EXPECTED_MATRIX[action])
    assert set(MATRIX) == set(EXPECTED_MATRIX)


def test_owners_are_managed_by_owners_only() -> None:
    assert can_manage(Role.OWNER, Role.OWNER)
    assert not can_manage(Role.ADMIN, Role.OWNER)
    assert can_manage(Role.ADMIN, Role.ADMIN)
    assert can_manage(Role.ADMIN, Role.MEMBER)
    assert not can_manage(Role.MEMBER, Role.MEMBER)
    assert not can_manage(None, Role.MEMBER)
    assert assignable_roles(Role.OWNER) == [Role.OWNER, Role.ADMIN, Role.MEMBER]
    assert assignable_roles(Role.ADMIN) == [Role.ADMIN, Role.MEMBER]
    assert assignable_roles(Role.MEMBER) == []


# --- every page and change, through HTTP -------------------------------------------------------------------------


@dataclass
class World:
    tenant: Tenant
    people: dict[str, User]
    target: Membership
    invitation: Invitation


@pytest.fixture
def world(tenant: Tenant, owner: User, member: User, outsider: User) -> World:
    admin = MembershipFactory.create(tenant=tenant, role=Role.ADMIN, user__email="admin@acme.test").user
    target = MembershipFactory.create(tenant=tenant, role=Role.MEMBER, user__email="target@acme.test")
    invitation = InvitationFactory.create(tenant=tenant, email="pending@example.com", invited_by=owner)
    people = {"owner": owner, "admin": admin, "member": member, "non-member": outsider}
    return World(tenant=tenant, people=people, target=target, invitation=invitation)


@dataclass
class Case:
    name: str
    method: str
    path: Callable[[World], str]
    allowed: dict[str, int]  # status for the roles that may; every other member role gets 403
    data: dict[str, str] | None = None


OK_ALL = {"owner": 200, "admin": 200, "member": 200}
OK_ADMINS = {"owner": 200, "admin": 200}
DONE_ADMINS = {"owner": 302, "admin": 302}
DONE_ALL = {"owner": 302, "admin": 302, "member": 302}

CASES = [
    Case("settings page", "get", lambda w: "/settings/", OK_ALL),
    Case("members page", "get", lambda w: "/settings/members/", OK_ALL),
    Case("profile page", "get", lambda w: "/settings/profile/", OK_ALL),
    Case("invitations page", "get", lambda w: "/settings/invitations/", OK_ADMINS),
    Case(
        "invite", "post", lambda w: "/settings/invitations/", DONE_ADMINS, {"emails": "n@example.com", "role": "member"}
    ),
    Case("resend invitation", "post", lambda w: f"/settings/invitations/{w.invitation.pk}/resend/", DONE_ADMINS),
    Case("revoke invitation", "post", lambda w: f"/settings/invitations/{w.invitation.pk}/revoke/", DONE_ADMINS),
    Case("change role", "post", lambda w: f"/settings/members/{w.target.pk}/role/", DONE_ADMINS, {"role": "admin"}),
    Case("remove member (confirm)", "get", lambda w: f"/settings/members/{w.target.pk}/remove/", OK_ADMINS),
    Case("remove member", "post", lambda w: f"/settings/members/{w.target.pk}/remove/", DONE_ADMINS),
    Case("transfer ownership (confirm)", "get", lambda w: f"/settings/members/{w.target.pk}/transfer/", {"owner": 200}),
    Case("transfer ownership", "post", lambda w: f"/settings/members/{w.target.pk}/transfer/", {"owner": 302}),
    Case("manage billing", "get", lambda w: "/settings/billing/", {"owner": 200}),
    Case("audit log", "get", lambda w: "/settings/audit/", OK_ADMINS),
    Case("audit export", "get", lambda w: "/settings/audit/export.csv", OK_ADMINS),
    Case("sign out other sessions", "post", lambda w: "/settings/profile/sessions/end-others/", DONE_ALL),
]


def expected_status(case: Case, role: str) -> int:
    if role == "anonymous":
        return 302  # to the workspace's sign-in page
    if role == "non-member":
        return 403  # the membership gate, before any view
    return case.allowed.get(role, 403)


def snapshot(world: World, in_tenant: Any) -> dict[str, Any]:
    with in_tenant(world.tenant):
        audit = AuditEntry.objects.count()
    return {
        "memberships": sorted(Membership.objects.values_list("id", "tenant_id", "user_id", "role")),
        "invitations": sorted(
            Invitation.objects.values_list("id", "email", "role", "token_hash", "expires_at", "revoked_at")
        ),
        "audit": audit,
    }


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_every_action_for_every_role(case: Case, role: str, world: World, in_tenant: Any) -> None:
    client: HostClient = client_for(world.tenant)
    if role != "anonymous":
        client.force_login(world.people[role])
    before = snapshot(world, in_tenant)

    response = getattr(client, case.method)(case.path(world), case.data or {})

    expected = expected_status(case, role)
    assert response.status_code == expected, (case.name, role, response.content[:400])
    if role == "anonymous":
        assert response["Location"].startswith("/login/?next=")
    if expected in (302, 200) and role not in ("anonymous", "non-member"):
        return
    assert snapshot(world, in_tenant) == before, f"{case.name} refused for {role} but changed something"


def test_refusals_by_role_are_explained_on_a_page(tenant_client: HostClient, member: User) -> None:
    tenant_client.force_login(member)

    response = tenant_client.get("/settings/audit/")

    assert response.status_code == 403
    assert b"doesn't allow this" in response.content or b"can't open this page" in response.content
