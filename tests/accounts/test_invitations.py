"""Invitations: sending (one email each, a hashed single-use token), resend and revoke, seat limits, isolation between
workspaces, and which emails are reported as sent."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.test import override_settings
from django.utils import timezone

from shared_apps.accounts.models import Invitation, Membership, Role, User
from shared_apps.accounts.permissions import NotAllowed
from shared_apps.accounts.services import invitations_create
from shared_apps.accounts.tasks import invitation_send
from tenant_apps.audit.models import AuditEntry
from tenants.models import Tenant
from tests.conftest import HostClient, client_for
from tests.factories import MembershipFactory, UserFactory
from tests.factories.people import InvitationFactory, invite

LINK = re.compile(r"http://localhost/invitations/([A-Za-z0-9_\-]+)/")


def token_from(message: Any) -> str:
    match = LINK.search(str(message.body))
    assert match, message.body
    return match.group(1)


def send_invites(client: HostClient, capture: Any, emails: str, role: str = "member") -> Any:
    with capture(execute=True):
        return client.post("/settings/invitations/", {"emails": emails, "role": role})


@pytest.fixture
def admin(tenant: Tenant) -> User:
    return MembershipFactory.create(tenant=tenant, role=Role.ADMIN, user__email="admin@acme.test").user


# --- sending ---------------------------------------------------------------------------------------------------------


def test_an_admin_invites_several_people_and_each_gets_one_email(
    tenant_client: HostClient, admin: User, tenant: Tenant, django_capture_on_commit_callbacks: Any, in_tenant: Any
) -> None:
    tenant_client.force_login(admin)

    response = send_invites(
        tenant_client, django_capture_on_commit_callbacks, "ada@example.com, Grace@Example.com\nlinus@example.com"
    )

    assert response.status_code == 302
    invitations = Invitation.objects.filter(tenant=tenant).order_by("email")
    assert [i.email for i in invitations] == ["ada@example.com", "grace@example.com", "linus@example.com"]
    assert {i.role for i in invitations} == {Role.MEMBER}
    assert all(i.send_count == 1 and i.sent_at is not None for i in invitations)
    assert sorted(m.to[0] for m in mail.outbox) == ["ada@example.com", "grace@example.com", "linus@example.com"]
    message = mail.outbox[0]
    assert isinstance(message, EmailMultiAlternatives)
    assert "Acme Inc" not in message.subject  # the invitee is no member yet: tests/accounts/test_mail_to_non_members.py
    assert message.subject.endswith("invited you to a workspace on Atrium")
    html = str(message.alternatives[0][0])
    token = token_from(message)
    assert html.count(f'href="http://localhost/invitations/{token}/"') == 2  # one button, and the plain link below it
    assert ">See the invitation</a>" in html
    assert "expires on" in str(message.body)
    # only a hash of the token is stored
    assert token not in str(list(Invitation.objects.values()))
    assert Invitation.objects.get(email=message.to[0]).token_hash == Invitation.hash_token(token)
    with in_tenant(tenant):
        entry = AuditEntry.objects.filter(action="invitation.created").first()
        assert AuditEntry.objects.filter(action="invitation.created").count() == 3
    assert entry is not None
    assert entry.actor == admin
    assert entry.ip_address == "127.0.0.1"
    messages = [str(m) for m in tenant_client.get("/settings/invitations/").context["messages"]]
    # the emails went out after the response here (the test harness runs on-commit work late), and the page said so
    assert any(
        "3 invitations not sent yet: ada@example.com, grace@example.com, linus@example.com" in m for m in messages
    )


def test_the_button_says_what_happens_and_mistakes_are_explained_next_to_the_field(
    tenant_client: HostClient, owner: User
) -> None:
    tenant_client.force_login(owner)

    page = tenant_client.get("/settings/invitations/").content.decode()
    assert "Send invitations" in page
    assert '<label class="label" for="id_emails">Email addresses</label>' in page

    response = tenant_client.post(
        "/settings/invitations/", {"emails": "ada@example.com grace@ not-an-email", "role": "admin"}
    )

    content = response.content.decode()
    assert response.status_code == 200
    assert "Send 2 invitations" in content  # the two entries with an "@", as the page counts them
    assert "These are not email addresses: “grace@”, “not-an-email”." in content
    assert 'id="form-errors"' in content  # summarised at the top too
    assert "ada@example.com grace@ not-an-email</textarea>" in content  # what was typed is kept
    assert '<option value="admin" selected>' in content
    assert Invitation.objects.count() == 0


def test_inviting_a_member_or_a_pending_address_again_is_a_clear_no_op(
    tenant_client: HostClient, owner: User, member: User, tenant: Tenant, django_capture_on_commit_callbacks: Any
) -> None:
    tenant_client.force_login(owner)
    invite(tenant, "pending@example.com", invited_by=owner)
    before = list(Invitation.objects.values_list("id", "token_hash", "expires_at"))

    response = send_invites(
        tenant_client, django_capture_on_commit_callbacks, f"{member.email.upper()}, pending@example.com"
    )

    assert response.status_code == 302
    assert list(Invitation.objects.values_list("id", "token_hash", "expires_at")) == before
    assert mail.outbox == []
    messages = [str(m) for m in tenant_client.get("/settings/invitations/").context["messages"]]
    assert any("Already a member, nothing sent: member@acme.test" in m for m in messages)
    assert any(
        "Already invited and the invitation is still valid, nothing sent: pending@example.com" in m for m in messages
    )


def test_an_expired_invitation_is_renewed_when_the_address_is_invited_again(
    tenant: Tenant, owner: User, django_capture_on_commit_callbacks: Any
) -> None:
    old = InvitationFactory.create(
        tenant=tenant, email="late@example.com", expires_at=timezone.now() - timedelta(days=1)
    )

    with django_capture_on_commit_callbacks(execute=True):
        result = invitations_create(tenant=tenant, emails=["late@example.com"], role=Role.ADMIN, acting_user=owner)

    assert [i.pk for i in result.renewed] == [old.pk]
    old.refresh_from_db()
    assert old.status == Invitation.Status.PENDING
    assert old.role == Role.ADMIN
    assert len(mail.outbox) == 1


def test_only_owners_invite_owners(
    tenant_client: HostClient, admin: User, tenant: Tenant, django_capture_on_commit_callbacks: Any
) -> None:
    tenant_client.force_login(admin)

    response = send_invites(tenant_client, django_capture_on_commit_callbacks, "boss@example.com", role="owner")

    assert response.status_code == 200  # the form refuses the choice: admins are not offered "Owner"
    assert b"Select a valid choice" in response.content
    assert Invitation.objects.count() == 0
    assert b'value="owner"' not in tenant_client.get("/settings/invitations/").content


def test_the_service_refuses_an_owner_invitation_from_an_admin_too(tenant: Tenant, admin: User) -> None:

    with pytest.raises(NotAllowed):
        invitations_create(tenant=tenant, emails=["boss@example.com"], role=Role.OWNER, acting_user=admin)
    assert Invitation.objects.count() == 0


def test_resend_mails_a_new_link_and_the_old_one_stops_working(
    tenant_client: HostClient,
    public_client: HostClient,
    tenant: Tenant,
    owner: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    old_token = invite(tenant, "ada@example.com", invited_by=owner)
    invitation = Invitation.objects.get()
    Invitation.objects.update(expires_at=timezone.now() + timedelta(hours=1))
    tenant_client.force_login(owner)

    with django_capture_on_commit_callbacks(execute=True):
        response = tenant_client.post(f"/settings/invitations/{invitation.pk}/resend/")

    assert response.status_code == 302
    new_token = token_from(mail.outbox[-1])
    assert new_token != old_token
    invitation.refresh_from_db()
    assert invitation.send_count == 2
    assert invitation.expires_at > timezone.now() + timedelta(days=6)
    old = public_client.get(f"/invitations/{old_token}/")
    assert old.status_code == 410
    assert "replaced by a newer one" in old.content.decode()
    assert "copied the whole link" not in old.content.decode()
    assert public_client.post(f"/invitations/{old_token}/", {"password": "a-strong-passphrase-42"}).status_code == 410
    assert not User.objects.filter(email="ada@example.com").exists()
    assert public_client.get(f"/invitations/{new_token}/").status_code == 200


def test_revoking_frees_the_seat_and_is_audited(
    tenant_client: HostClient, tenant: Tenant, owner: User, in_tenant: Any
) -> None:
    invite(tenant, "ada@example.com", invited_by=owner)
    tenant_client.force_login(owner)

    tenant_client.post(f"/settings/invitations/{Invitation.objects.get().pk}/revoke/")

    invitation = Invitation.objects.get()
    assert invitation.revoked_by == owner
    assert invitation.status == Invitation.Status.REVOKED
    assert "ada@example.com</td>" not in tenant_client.get("/settings/invitations/").content.decode()
    with in_tenant(tenant):
        assert AuditEntry.objects.filter(action="invitation.revoked", target_label="ada@example.com").count() == 1


def test_the_task_sends_nothing_for_a_revoked_invitation(tenant: Tenant, owner: User) -> None:
    invitation = InvitationFactory.create(tenant=tenant, email="x@example.com", revoked_at=timezone.now())

    assert invitation_send.delay(invitation_id=invitation.pk).get() is False
    assert mail.outbox == []


# --- seats -----------------------------------------------------------------------------------------------------------


@override_settings(TENANT_DEFAULT_SEAT_LIMIT=3)
def test_invitations_beyond_the_seats_are_refused_with_a_link_to_billing(
    tenant_client: HostClient, tenant: Tenant, owner: User, member: User, django_capture_on_commit_callbacks: Any
) -> None:
    tenant_client.force_login(owner)

    response = send_invites(tenant_client, django_capture_on_commit_callbacks, "a@example.com b@example.com")

    assert response.status_code == 409
    content = response.content.decode()
    assert "Not enough seats: nothing was sent." in content
    assert "Acme Inc has 3 seats and 2 are taken" in content
    assert 'href="/settings/billing/"' in content
    assert "a@example.com b@example.com</textarea>" in content
    assert Invitation.objects.count() == 0
    assert mail.outbox == []
    billing = tenant_client.get("/settings/billing/")
    assert b"Upgrade to Pro" in billing.content


@override_settings(TENANT_DEFAULT_SEAT_LIMIT=3)
def test_pending_invitations_hold_seats_until_revoked(
    tenant_client: HostClient, tenant: Tenant, owner: User, member: User, django_capture_on_commit_callbacks: Any
) -> None:
    tenant_client.force_login(owner)
    assert send_invites(tenant_client, django_capture_on_commit_callbacks, "a@example.com").status_code == 302

    assert send_invites(tenant_client, django_capture_on_commit_callbacks, "b@example.com").status_code == 409

    tenant_client.post(f"/settings/invitations/{Invitation.objects.get(email='a@example.com').pk}/revoke/")
    assert send_invites(tenant_client, django_capture_on_commit_callbacks, "b@example.com").status_code == 302


# --- isolation -------------------------------------------------------------------------------------------------------


def test_an_admin_of_acme_cannot_see_invite_to_or_touch_globex(
    tenant: Tenant, other_tenant: Tenant, owner: User, outsider: User, django_capture_on_commit_callbacks: Any
) -> None:
    """owner@acme.test runs acme; globex's invitation ids, host and pages are out of reach."""
    globex_invitation = InvitationFactory.create(tenant=other_tenant, email="g@example.com", invited_by=outsider)
    acme = client_for(tenant)
    acme.force_login(owner)
    before = list(Invitation.objects.values_list("id", "expires_at", "revoked_at", "send_count"))

    # by id, from acme's host
    assert acme.post(f"/settings/invitations/{globex_invitation.pk}/revoke/").status_code == 404
    assert acme.post(f"/settings/invitations/{globex_invitation.pk}/resend/").status_code == 404
    assert b"g@example.com" not in acme.get("/settings/invitations/").content
    # by host: acme's session means nothing on globex, and a globex session of a non-member is refused
    globex = client_for(other_tenant)
    globex.cookies["sessionid"] = acme.cookies["sessionid"].value
    assert globex.post("/settings/invitations/", {"emails": "x@example.com", "role": "member"}).status_code == 302
    globex.force_login(owner)
    assert globex.get("/settings/invitations/").status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        assert globex.post("/settings/invitations/", {"emails": "x@example.com", "role": "member"}).status_code == 403

    assert list(Invitation.objects.values_list("id", "expires_at", "revoked_at", "send_count")) == before
    assert mail.outbox == []


@pytest.mark.parametrize("status", ["suspended", "scheduled_deletion"])
def test_a_workspace_that_is_suspended_or_being_deleted_takes_no_new_members(
    public_client: HostClient, tenant: Tenant, owner: User, status: str
) -> None:
    person = UserFactory.create(email="late@example.com")
    token = invite(tenant, "late@example.com", invited_by=owner)
    Tenant.objects.filter(pk=tenant.pk).update(status=status)
    public_client.force_login(person)

    page = public_client.get(f"/invitations/{token}/")
    response = public_client.post(f"/invitations/{token}/")

    assert page.status_code == 409
    assert b"is not taking new members right now" in page.content
    assert response.status_code == 409
    assert not Membership.objects.filter(user=person, tenant=tenant).exists()
    assert Invitation.objects.get().accepted_at is None


@pytest.fixture
def commit_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """On-commit work runs when the service's transaction ends, as it does outside the test's own transaction."""
    monkeypatch.setattr("django.db.transaction.on_commit", lambda fn, using=None, robust=False: fn())


@pytest.mark.usefixtures("commit_at_once")
def test_emails_that_went_out_are_reported_as_sent(tenant_client: HostClient, owner: User) -> None:
    tenant_client.force_login(owner)

    response = tenant_client.post(
        "/settings/invitations/", {"emails": "a@example.com, b@example.com", "role": "member"}, follow=True
    )

    assert "2 invitations sent: a@example.com, b@example.com." in response.content.decode()


@pytest.mark.usefixtures("commit_at_once")
def test_an_email_that_fails_is_not_reported_as_sent(
    tenant_client: HostClient, tenant: Tenant, owner: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise OSError("mail server down")

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", refuse)
    tenant_client.force_login(owner)

    response = tenant_client.post(
        "/settings/invitations/", {"emails": "eve@example.com", "role": "member"}, follow=True
    )

    page = response.content.decode()
    assert "invitation sent" not in page
    assert "1 invitation not sent yet: eve@example.com" in page
    assert "Sending…" in page
    assert Invitation.objects.get().sent_at is None
