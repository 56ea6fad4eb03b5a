"""Accepting an invitation: signed in, a new person, the wrong address; and the pages for links that cannot be used
(expired, revoked, used, unknown, another workspace's)."""

from __future__ import annotations

import difflib
import re
from datetime import timedelta
from html import unescape
from typing import Any
from urllib.parse import urlsplit

from allauth.account.models import EmailAddress
from django.core import mail
from django.utils import timezone

from shared_apps.accounts.models import Invitation, Membership, Role, User
from shared_apps.accounts.tasks import invitation_send
from tenant_apps.audit.models import AuditEntry
from tenants.models import Tenant
from tests.conftest import HostClient, client_for
from tests.factories import UserFactory
from tests.factories.people import InvitationFactory, invite
from tests.helpers import handoff_ticket


def handoff_path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_a_signed_in_user_whose_verified_email_matches_joins_and_lands_in_the_workspace(
    public_client: HostClient, tenant: Tenant, owner: User, in_tenant: Any
) -> None:
    person = UserFactory.create(email="ada@example.com")
    token = invite(tenant, "ada@example.com", role=Role.ADMIN, invited_by=owner)
    public_client.force_login(person)

    page = public_client.get(f"/invitations/{token}/")
    assert page.status_code == 200
    assert b"Join Acme Inc" in page.content
    response = public_client.post(f"/invitations/{token}/")

    assert response.status_code == 302
    assert response["Location"].startswith("http://acme.localhost/auth/start/")
    assert Membership.objects.get(user=person, tenant=tenant).role == Role.ADMIN
    invitation = Invitation.objects.get()
    assert invitation.accepted_by == person
    assert invitation.status == Invitation.Status.ACCEPTED
    acme = client_for(tenant)
    ticket = handoff_ticket(public_client, acme, start_url=response["Location"])
    assert acme.get(handoff_path(ticket)).status_code == 302
    home = acme.get("/")
    assert home.status_code == 200
    assert b"Acme Inc" in home.content
    with in_tenant(tenant):
        assert set(AuditEntry.objects.filter(actor=person).values_list("action", flat=True)) >= {
            "invitation.accepted",
            "member.joined",
            "auth.handoff",
        }


def _code_from(message: Any) -> str:
    match = re.search(r"^\s*([A-Z0-9]{4}-?[A-Z0-9]{4}|[A-Z0-9]{6})\s*$", str(message.body), re.MULTILINE)
    assert match, message.body
    return match.group(1)


def test_a_new_person_sets_a_password_and_is_in_the_workspace_in_one_pass(
    tenant: Tenant, owner: User, public_client: HostClient, in_tenant: Any
) -> None:
    token = invite(tenant, "newbie@example.com", invited_by=owner)
    landing = public_client.get(f"/invitations/{token}/").content.decode()
    assert "newbie@example.com" in landing
    assert "name your workspace" not in landing
    sent = len(mail.outbox)

    response = public_client.post(f"/invitations/{token}/", {"name": "New Bie", "password": "a-strong-passphrase-42"})

    # no code to type (the link proved the address) and no second "Join": straight on to the workspace's host
    assert response.status_code == 302
    assert response["Location"].startswith("http://acme.localhost/auth/start/")
    assert len(mail.outbox) == sent
    user = User.objects.get(email="newbie@example.com")
    assert user.name == "New Bie"
    assert Membership.objects.get(tenant=tenant, user=user).role == Role.MEMBER
    address = EmailAddress.objects.get(user=user)
    assert address.verified  # allauth: verified and primary, so no later prompt
    assert address.primary
    acme = client_for(tenant)
    ticket = handoff_ticket(public_client, acme, start_url=response["Location"])
    assert acme.get(handoff_path(ticket)).status_code == 302
    assert acme.get("/").status_code == 200
    with in_tenant(tenant):
        assert {"invitation.accepted", "member.joined"} <= set(
            AuditEntry.objects.filter(actor=user).values_list("action", flat=True)
        )


def test_a_weak_password_is_refused_once_next_to_the_field_and_nothing_is_created(
    tenant: Tenant, owner: User, public_client: HostClient
) -> None:
    token = invite(tenant, "newbie@example.com", invited_by=owner)

    response = public_client.post(f"/invitations/{token}/", {"password": "short"})

    assert response.status_code == 400
    page = response.content.decode()
    assert page.count("This password is too short") == 1
    assert not User.objects.filter(email="newbie@example.com").exists()
    assert Invitation.objects.get().accepted_at is None


def test_hostile_names_on_the_invitation_form_are_refused(
    tenant: Tenant, owner: User, public_client: HostClient
) -> None:
    token = invite(tenant, "newbie@example.com", invited_by=owner)
    for name in ("Evil\x00Name", "Evil\nName", "x" * 10_000):
        response = public_client.post(f"/invitations/{token}/", {"name": name, "password": "a-strong-passphrase-42"})
        assert response.status_code == 400
    assert not User.objects.filter(email="newbie@example.com").exists()


def test_an_existing_account_is_sent_to_sign_in_instead_of_getting_a_second_one(
    tenant: Tenant, owner: User, public_client: HostClient
) -> None:
    UserFactory.create(email="known@example.com")
    token = invite(tenant, "known@example.com", invited_by=owner)

    response = public_client.post(f"/invitations/{token}/", {"password": "a-strong-passphrase-42"})

    assert response.status_code == 400
    assert "sign in to join" in response.content.decode()
    assert User.objects.filter(email="known@example.com").count() == 1
    assert not Membership.objects.filter(tenant=tenant, user__email="known@example.com").exists()


def test_the_sign_up_page_does_not_promise_an_invitee_a_workspace_to_name(public_client: HostClient) -> None:
    invited = public_client.get("/accounts/signup/?next=/invitations/abc/").content.decode()
    plain = public_client.get("/accounts/signup/").content.decode()
    assert "name your workspace" not in invited
    assert "join the workspace that invited you" in invited
    assert "name your workspace" in plain


def test_the_invitation_email_names_the_sender_once(tenant: Tenant, owner: User) -> None:
    # the owner has no name: the address alone, not "owner@acme.test (owner@acme.test)"
    owner.name = ""
    owner.save()
    invitation_send(invitation_id=InvitationFactory.create(tenant=tenant, email="a@example.com", invited_by=owner).pk)
    assert "owner@acme.test invited you" in str(mail.outbox[-1].body)
    assert "owner@acme.test (owner@acme.test)" not in str(mail.outbox[-1].body)
    assert mail.outbox[-1].subject.startswith("owner@acme.test invited you")
    owner.name = "Olive Owner"  # a name the inviter chose: not in mail to someone who is not a member yet
    owner.save()
    invitation_send(invitation_id=InvitationFactory.create(tenant=tenant, email="b@example.com", invited_by=owner).pk)
    assert "owner@acme.test invited you" in str(mail.outbox[-1].body)
    assert "Olive Owner" not in str(mail.outbox[-1].body)


def test_anonymous_visitors_are_offered_sign_up_and_sign_in_alike_whether_or_not_an_account_exists(
    public_client: HostClient, tenant: Tenant, owner: User
) -> None:
    UserFactory.create(email="known@example.com")
    known = invite(tenant, "known@example.com", invited_by=owner)
    unknown = invite(tenant, "unknown@example.com", invited_by=owner)

    pages = {t: public_client.get(f"/invitations/{t}/").content.decode() for t in (known, unknown)}

    for token, content in pages.items():
        assert "Sign in to join" in content
        assert "Create account and join" in content
        assert f"/login/?next=%2Finvitations%2F{token}%2F" in content
    pattern = (
        r"[\w.-]+(?:@|%40)example\.com|/invitations/[^/]+/|%2Finvitations%2F[^%]+%2F|"
        r'name="csrfmiddlewaretoken" value="[^"]+"'
    )
    first, second = (re.sub(pattern, "X", c).splitlines() for c in pages.values())
    assert first == second, "\n".join(difflib.unified_diff(first, second))  # the address and link aside


def test_a_different_signed_in_email_is_told_clearly_and_not_joined(
    public_client: HostClient, tenant: Tenant, owner: User
) -> None:
    someone = UserFactory.create(email="someone@example.com")
    token = invite(tenant, "ada@example.com", invited_by=owner)
    public_client.force_login(someone)

    for method in ("get", "post"):
        response = getattr(public_client, method)(f"/invitations/{token}/")
        assert response.status_code == 403
        content = response.content.decode()
        assert "This invitation is for ada@example.com" in content
        assert "signed in as <strong>someone@example.com</strong>" in content
    assert not Membership.objects.filter(user=someone, tenant=tenant).exists()
    assert Invitation.objects.get().status == Invitation.Status.PENDING  # still usable by the right person


def test_an_unverified_matching_address_does_not_join(public_client: HostClient, tenant: Tenant, owner: User) -> None:

    person = UserFactory.create(email="main@example.com")
    EmailAddress.objects.create(user=person, email="second@example.com", verified=False, primary=False)
    token = invite(tenant, "second@example.com", invited_by=owner)
    public_client.force_login(person)

    response = public_client.post(f"/invitations/{token}/")

    assert response.status_code == 403
    assert not Membership.objects.filter(user=person, tenant=tenant).exists()


# --- tokens that cannot be used --------------------------------------------------------------------------------------


def test_an_expired_token_gets_a_clear_page(public_client: HostClient, tenant: Tenant, owner: User) -> None:
    token = invite(tenant, "ada@example.com", invited_by=owner)
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    public_client.force_login(UserFactory.create(email="ada@example.com"))

    for method in ("get", "post"):
        response = getattr(public_client, method)(f"/invitations/{token}/")
        assert response.status_code == 410
        assert b"This invitation has expired." in response.content
    assert Membership.objects.filter(tenant=tenant).count() == 1


def test_a_revoked_token_gets_a_clear_page(
    tenant_client: HostClient, public_client: HostClient, tenant: Tenant, owner: User
) -> None:
    token = invite(tenant, "ada@example.com", invited_by=owner)
    tenant_client.force_login(owner)
    assert tenant_client.post(f"/settings/invitations/{Invitation.objects.get().pk}/revoke/").status_code == 302
    public_client.force_login(UserFactory.create(email="ada@example.com"))

    response = public_client.post(f"/invitations/{token}/")

    assert response.status_code == 410
    assert b"This invitation was withdrawn." in response.content
    assert Membership.objects.filter(tenant=tenant).count() == 1


def test_a_used_token_cannot_be_used_again(public_client: HostClient, tenant: Tenant, owner: User) -> None:
    token = invite(tenant, "ada@example.com", invited_by=owner)
    ada = UserFactory.create(email="ada@example.com")
    public_client.force_login(ada)
    assert public_client.post(f"/invitations/{token}/").status_code == 302

    # the same person again: told they are in, with a way into the workspace
    again = public_client.post(f"/invitations/{token}/")
    assert again.status_code == 410
    assert b"already used" in again.content
    assert b"/workspaces/acme/open/" in again.content
    # someone else holding the link
    other = HostClient("localhost")
    other.force_login(UserFactory.create(email="mallory@example.com"))
    response = other.get(f"/invitations/{token}/")
    assert response.status_code == 410
    assert b"/workspaces/acme/open/" not in response.content
    assert Membership.objects.filter(tenant=tenant).count() == 2


def test_an_unknown_or_mangled_token_is_not_valid(public_client: HostClient, tenant: Tenant, owner: User) -> None:
    token = invite(tenant, "ada@example.com", invited_by=owner)

    for bad in (token[:-2] + "xx", "nope", "a" * 200):
        response = public_client.get(f"/invitations/{bad}/")
        assert response.status_code == 404
        assert b"This invitation link is not valid." in response.content
        assert b"Acme" not in response.content


def test_a_token_for_another_workspace_is_refused_on_that_host_and_forwarded_on_its_own(
    tenant: Tenant, other_tenant: Tenant, owner: User
) -> None:
    token = invite(tenant, "ada@example.com", invited_by=owner)

    on_globex = client_for(other_tenant).get(f"/invitations/{token}/")
    on_acme = client_for(tenant).get(f"/invitations/{token}/")

    assert on_globex.status_code == 404
    assert "isn't for this workspace" in unescape(on_globex.content.decode())
    assert b"Acme" not in on_globex.content
    assert on_acme.status_code == 302
    assert on_acme["Location"] == f"http://localhost/invitations/{token}/"


def test_accepting_joins_only_the_inviting_workspace(
    public_client: HostClient, tenant: Tenant, other_tenant: Tenant, owner: User
) -> None:
    token = invite(tenant, "ada@example.com", invited_by=owner)
    ada = UserFactory.create(email="ada@example.com")
    public_client.force_login(ada)

    public_client.post(f"/invitations/{token}/")

    assert list(Membership.objects.filter(user=ada).values_list("tenant_id", flat=True)) == [tenant.pk]
