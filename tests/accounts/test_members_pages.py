"""Every settings page: a fixed number of queries whatever the workspace's size, and nothing of it reachable from
another workspace's admin (by host or by id)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shared_apps.accounts.models import Membership, Role, User
from tenant_apps.audit.models import AuditEntry
from tenants.models import Tenant
from tests.conftest import HostClient, client_for
from tests.factories import MembershipFactory
from tests.factories.people import InvitationFactory, add_members, invite

PAGES = [
    "/settings/",
    "/settings/members/",
    "/settings/members/?q=person&page=2",
    "/settings/invitations/",
    "/settings/billing/",
    "/settings/audit/",
    "/settings/audit/?action=member.*&actor=bulk",
    "/settings/profile/",
    "/settings/leave/",
    "/settings/members/{target}/remove/",
    "/settings/members/{target}/transfer/",
]


def queries_for(client: HostClient, path: str) -> list[str]:
    client.get(path)  # warm the routing cache
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return [q["sql"] for q in queries.captured_queries]


def grow(tenant: Tenant, in_tenant: Any, owner: User) -> None:
    """From one member to 500, with 100 pending invitations and an audit entry per member."""
    memberships = add_members(tenant, 499)
    InvitationFactory.create_batch(100, tenant=tenant, invited_by=owner)
    with in_tenant(tenant):
        AuditEntry.objects.bulk_create(
            AuditEntry(action="member.joined", actor=m.user, actor_label=m.user.email) for m in memberships
        )


@pytest.mark.parametrize("path", PAGES)
def test_every_page_costs_the_same_queries_at_1_and_500_members(
    path: str, tenant: Tenant, owner: User, in_tenant: Any
) -> None:
    target = MembershipFactory.create(tenant=tenant, role=Role.MEMBER)
    path = path.format(target=target.pk)
    # one row on each list (an empty list skips its page query)
    InvitationFactory.create(tenant=tenant, invited_by=owner)
    with in_tenant(tenant):
        AuditEntry.objects.create(action="member.joined", actor=target.user, actor_label="bulk-first@example.com")
    client = client_for(tenant)
    client.force_login(owner)
    small = queries_for(client, path)

    grow(tenant, in_tenant, owner)
    large = queries_for(client, path)

    assert len(small) == len(large), (small, large)
    # the members list also shows the newest pending invitations to those who manage them: one query more
    assert len(small) <= (9 if path.startswith("/settings/members/") else 8), small


def test_the_invitation_landing_page_costs_a_fixed_number_of_queries(
    tenant: Tenant, owner: User, public_client: HostClient, in_tenant: Any
) -> None:
    token = invite(tenant, "ada@example.com", invited_by=owner)
    small = len(queries_for(public_client, f"/invitations/{token}/"))
    grow(tenant, in_tenant, owner)

    assert len(queries_for(public_client, f"/invitations/{token}/")) == small
    assert small <= 3


@pytest.mark.parametrize("path", PAGES)
def test_an_admin_of_acme_reaches_no_settings_page_of_globex(
    path: str, tenant: Tenant, other_tenant: Tenant, owner: User, outsider: User
) -> None:
    """By host: acme's owner is not a member of globex, so every globex page refuses them; by id: a globex
    membership id on acme's host is not found."""
    globex_target = MembershipFactory.create(tenant=other_tenant, role=Role.MEMBER)
    acme_admin = MembershipFactory.create(tenant=tenant, role=Role.ADMIN, user__email="admin@acme.test").user

    on_globex = client_for(other_tenant)
    on_globex.force_login(acme_admin)
    response = on_globex.get(path.format(target=globex_target.pk))
    assert response.status_code == 403
    assert b"Globex" not in response.content

    if "{target}" in path:
        on_acme = client_for(tenant)
        on_acme.force_login(owner)
        assert on_acme.get(path.format(target=globex_target.pk)).status_code == 404
        assert on_acme.post(path.format(target=globex_target.pk)).status_code == 404
        assert Membership.objects.get(pk=globex_target.pk).role == Role.MEMBER
