"""People across workspaces: search, memberships, two-factor status, last sign-in; deactivate, sign out everywhere,
resend verification — through the operators' services, each with a reason, in both logs."""

from __future__ import annotations

from typing import Any

import pytest
from allauth.account.models import EmailAddress
from allauth.usersessions.models import UserSession
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from shared_apps.accounts.models import Role, User
from shared_apps.workspaces.models import OperatorLogEntry
from tenant_apps.audit.models import AuditEntry
from tenants.models import Tenant
from tests.conftest import HostClient, client_for
from tests.factories import MembershipFactory, ProjectFactory, UserFactory
from tests.helpers import local, mfa_enable, operator_create

USERS = "/admin/accounts/user/"


def _act(client: Client, user: User, action: str, **data: Any) -> Any:
    return client.post(USERS, {"action": action, "_selected_action": [str(user.pk)], **data}, follow=True)


def test_search_finds_people_by_their_workspace(desk: Client, owner: User, outsider: User) -> None:
    by_name = desk.get(USERS, {"q": "Acme"}).content.decode()
    by_host = desk.get(USERS, {"q": "globex.localhost"}).content.decode()

    assert "owner@acme.test" in by_name
    assert "owner@globex.test" not in by_name
    assert "owner@globex.test" in by_host
    assert "owner@acme.test" not in by_host


def test_the_list_shows_two_factor_and_last_sign_in_in_fixed_queries(desk: Client, tenant: Tenant) -> None:
    person = MembershipFactory.create(tenant=tenant).user
    mfa_enable(person)
    desk.get(USERS)
    with CaptureQueriesContext(connection) as few:
        text = desk.get(USERS + "?mfa=yes").content.decode()
    for _ in range(20):
        MembershipFactory.create(tenant=tenant)
    with CaptureQueriesContext(connection) as many:
        desk.get(USERS + "?mfa=yes")

    assert person.email in text
    assert "Last sign-in" in text
    assert "Two-factor" in text
    assert len(many) == len(few)


@pytest.mark.parametrize("term", ["\x00", "x" * 3000])
def test_hostile_search_is_not_a_500(desk: Client, term: str) -> None:
    assert desk.get(USERS, {"q": term}).status_code == 200


def test_deactivate_signs_out_everywhere_and_is_recorded_in_each_workspace(
    desk: Client, helpdesk: User, tenant: Tenant, other_tenant: Tenant, owner: User, in_tenant: Any
) -> None:
    MembershipFactory.create(tenant=other_tenant, user=owner, role=Role.MEMBER)
    session = client_for(tenant)
    session.force_login(owner)

    UserSession.objects.create(user=owner, session_key=session.session.session_key, ip="127.0.0.1")

    done = _act(desk, owner, "deactivate_selected", apply="1", reason="Account compromised")

    assert "Deactivated 1 account." in done.content.decode()
    assert not User.objects.get(pk=owner.pk).is_active
    assert session.get("/").status_code == 302  # signed out
    log = OperatorLogEntry.objects.get(action="user.deactivated")
    assert (log.operator_id, log.target_user_id, log.reason) == (helpdesk.pk, owner.pk, "Account compromised")
    for t in (tenant, other_tenant):
        with in_tenant(t):
            entry = AuditEntry.objects.get(action="account.deactivated")
        assert (entry.actor_id, entry.metadata["reason"]) == (helpdesk.pk, "Account compromised")


def test_sign_out_everywhere_and_reactivate(desk: Client, tenant: Tenant, owner: User, in_tenant: Any) -> None:
    _act(desk, owner, "sign_out_selected", apply="1", reason="Lost laptop")
    _act(desk, owner, "deactivate_selected", apply="1", reason="Pause")
    _act(desk, owner, "reactivate_selected", apply="1", reason="Back")

    assert User.objects.get(pk=owner.pk).is_active
    with in_tenant(tenant):
        actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"account.signed_out_everywhere", "account.deactivated", "account.reactivated"} <= actions


def test_resend_verification_mails_a_link_that_verifies(
    desk: Client, public_client: HostClient, tenant: Tenant, django_capture_on_commit_callbacks: Any
) -> None:
    person = UserFactory.create(email="unverified@example.com", email_verified=False)
    MembershipFactory.create(tenant=tenant, user=person)

    with django_capture_on_commit_callbacks(execute=True):
        done = _act(desk, person, "resend_verification", apply="1", reason="Stuck at sign-up")
    (email,) = [m for m in mail.outbox if m.to == ["unverified@example.com"]]
    link = next(line for line in email.body.splitlines() if "/verify-email/" in line).strip()
    anonymous = HostClient("localhost")
    shown = anonymous.get(local(link))
    verified = anonymous.post(local(link))
    reused = anonymous.get(local(link))

    assert "Sent a verification email to 1 account." in done.content.decode()
    assert "Verify unverified@example.com" in shown.content.decode()
    assert "is verified" in verified.content.decode()
    assert EmailAddress.objects.get(user=person).verified
    assert reused.status_code == 404
    assert anonymous.get("/verify-email/nonsense/").status_code == 404
    assert anonymous.get("/verify-email/a%00b/").status_code == 404


def test_resending_to_a_verified_account_says_so(desk: Client, owner: User) -> None:
    page = _act(desk, owner, "resend_verification", apply="1", reason="Just in case")

    assert "has no unverified email address" in page.content.decode()
    assert not OperatorLogEntry.objects.exists()


def test_operators_cannot_act_on_themselves_or_on_other_operators(desk: Client, helpdesk: User, in_tenant: Any) -> None:
    other = operator_create("other-ops@atrium.test")

    self_page = _act(desk, helpdesk, "deactivate_selected", apply="1", reason="Oops")
    other_page = _act(desk, other, "deactivate_selected", apply="1", reason="Rivalry")

    assert "cannot deactivate your own account" in self_page.content.decode()
    assert "Only a superuser can deactivate another operator" in other_page.content.decode()
    assert User.objects.get(pk=helpdesk.pk).is_active
    assert User.objects.get(pk=other.pk).is_active


def test_view_only_staff_change_nobody(public_client: HostClient, owner: User) -> None:
    public_client.force_login(operator_create("viewer@atrium.test", "accounts.view_user"))

    listing = public_client.get(USERS)
    for action in ("deactivate_selected", "sign_out_selected", "resend_verification", "reactivate_selected"):
        _act(public_client, owner, action, apply="1", reason="No rights")

    assert listing.status_code == 200
    assert "deactivate_selected" not in listing.content.decode()
    assert User.objects.get(pk=owner.pk).is_active
    assert not OperatorLogEntry.objects.exists()


def test_accounts_are_deactivated_never_deleted_not_even_by_a_superuser(
    public_client: HostClient, tenant: Tenant, in_tenant: Any
) -> None:
    """Workspaces' rows keep the ids of the people who made them (without database constraints: tenants.references):
    an account is deactivated, so its name stays on what it did. No delete page, no delete action, for anyone."""

    public_client.force_login(operator_create("root@atrium.test", superuser=True))
    person = MembershipFactory.create(tenant=tenant, role=Role.MEMBER).user
    with in_tenant(tenant):
        ProjectFactory.create(name="Theirs", created_by=person)

    assert public_client.get(f"{USERS}{person.pk}/delete/").status_code in {403, 302}
    _act(public_client, person, "delete_selected", post="yes")
    change_page = public_client.get(f"{USERS}{person.pk}/change/").content.decode()

    assert User.objects.filter(pk=person.pk).exists()
    assert f"{USERS}{person.pk}/delete/" not in change_page
    assert "delete_selected" not in public_client.get(USERS).content.decode()
