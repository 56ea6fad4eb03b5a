"""What the members pages say about the row that just changed, and how they lay out addresses: a toast names the row it
reports on (so it can keep clear of it: static/js/ui.js), and an address carries its wrapping points (the soft_breaks
filter). How they look in a browser: tests/e2e/test_layout_and_accessibility.py."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.template import Context, Template

from shared_apps.accounts.models import Invitation, Membership, Role, User
from tenant_apps.audit.models import AuditEntry
from tenants.models import Tenant
from tests.conftest import HostClient
from tests.factories import MembershipFactory
from tests.factories.people import invite

pytestmark = pytest.mark.django_db

LONG = "maximiliana.featherstonehaugh@research-and-development.example-corporation.com"


def about(page: str) -> list[str]:
    return re.findall(r'<li class="flash [^"]*"[^>]*data-about="([^"]+)"', page)


def test_a_sent_invitations_toast_names_the_new_rows_which_carry_those_ids(
    tenant_client: HostClient, tenant: Tenant, owner: User
) -> None:
    tenant_client.force_login(owner)

    page = tenant_client.post(
        "/settings/invitations/", {"emails": "ada@example.com, grace@example.com", "role": Role.MEMBER}, follow=True
    ).content.decode()

    rows = [f"invitation-{i.pk}" for i in Invitation.objects.filter(tenant=tenant).order_by("pk")]
    assert len(rows) == 2
    assert about(page) == [" ".join(rows)]
    for row in rows:
        assert f'<tr id="{row}">' in page


def test_a_resent_invitation_and_a_changed_role_name_their_rows(
    tenant_client: HostClient, tenant: Tenant, owner: User
) -> None:
    invite(tenant, "ada@example.com", invited_by=owner)
    invitation = Invitation.objects.get(tenant=tenant)
    target = MembershipFactory.create(tenant=tenant, role=Role.MEMBER)
    tenant_client.force_login(owner)

    resent = tenant_client.post(f"/settings/invitations/{invitation.pk}/resend/", follow=True).content.decode()
    changed = tenant_client.post(
        f"/settings/members/{target.pk}/role/", {"role": Role.ADMIN}, follow=True
    ).content.decode()

    assert about(resent) == [f"invitation-{invitation.pk}"]
    assert f'<tr id="invitation-{invitation.pk}">' in resent
    assert Membership.objects.get(pk=target.pk).role == Role.ADMIN
    assert about(changed) == [f"member-{target.pk}"]
    assert f'<tr id="member-{target.pk}">' in changed


def test_a_message_without_a_row_names_none(tenant_client: HostClient, owner: User) -> None:
    tenant_client.force_login(owner)

    page = tenant_client.post("/settings/profile/", {"name": "Ada"}, follow=True).content.decode()

    assert "Your profile was saved." in page
    assert about(page) == []


def test_the_audit_log_lets_long_addresses_wrap_after_the_at_sign_and_before_dots(
    tenant_client: HostClient, tenant: Tenant, owner: User, in_tenant: Any
) -> None:
    with in_tenant(tenant):
        AuditEntry.objects.create(action="member.joined", actor_label=LONG, target_label="<b>x@y.z</b>")
    tenant_client.force_login(owner)

    page = tenant_client.get("/settings/audit/").content.decode()

    assert (
        '<span class="addr">maximiliana<wbr>.featherstonehaugh@<wbr>research-and-development<wbr>.example-corporation'
        "<wbr>.com</span>"
    ) in page
    assert '<span class="addr">&lt;b&gt;x@<wbr>y<wbr>.z&lt;/b&gt;</span>' in page  # escaped, like any label
    assert "<b>x@" not in page


@pytest.mark.parametrize(
    ("value", "rendered"),
    [
        ("ada@example.com", '<span class="addr">ada@<wbr>example<wbr>.com</span>'),
        ("Grace Hopper", "Grace Hopper"),  # words break at their spaces
        ("a <i>b</i>", "a &lt;i&gt;b&lt;/i&gt;"),
        ("", ""),
        (None, ""),
    ],
)
def test_soft_breaks(value: object, rendered: str) -> None:
    template = Template("{% load atrium %}{{ value|soft_breaks }}")

    assert template.render(Context({"value": value})) == rendered
