"""Mail to someone who is not a member of a workspace carries no text the workspace chose — its name included, and
not its members' names either: otherwise any owner could make Atrium send branded mail with their words (and a web
address) to any address, by asking for a password reset or a sign-in code on their workspace's host, or by inviting.
Members get their workspace named. And a workspace's name cannot hold a web address in the first place."""

from __future__ import annotations

import pytest
from django.core import mail

from shared_apps.accounts.models import User
from shared_apps.accounts.tasks import invitation_send
from shared_apps.workspaces import services as workspaces
from tenants.errors import TenantNameInvalid
from tenants.models import Tenant
from tenants.validators import validate_tenant_name
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.factories.people import InvitationFactory

WORDS = "Acme Payroll Desk 7731"  # an owner's words: in mail to members only


def _mail_to(address: str) -> str:
    sent = [m for m in mail.outbox if m.to == [address]]
    assert sent, f"no mail to {address}"
    message = sent[-1]
    html = "".join(str(body) for body, _type in getattr(message, "alternatives", []))
    return f"{message.subject}\n{message.body}\n{html}"


@pytest.fixture
def named(tenant: Tenant) -> Tenant:
    Tenant.objects.filter(pk=tenant.pk).update(name=WORDS)
    tenant.refresh_from_db()
    return tenant


@pytest.mark.parametrize("path", ["/accounts/password/reset/", "/accounts/login/code/"])
def test_account_mail_asked_for_on_a_workspace_host_names_it_to_members_only(
    named: Tenant, owner: User, path: str
) -> None:
    outsider = UserFactory.create(email="outsider@example.com")  # an account, not a member of this workspace

    for address in ("nobody@example.com", outsider.email, owner.email):
        client_for(named).post(path, {"email": address})

    assert WORDS not in _mail_to("nobody@example.com")  # "no account with this email"
    assert WORDS not in _mail_to(outsider.email)
    assert WORDS in _mail_to(owner.email)


def test_an_invitation_names_neither_the_workspace_nor_the_inviter_only_the_inviters_address(
    named: Tenant, owner: User
) -> None:
    owner.name = "Visit the prize desk"
    owner.save()

    invitation_send(invitation_id=InvitationFactory.create(tenant=named, email="a@example.com", invited_by=owner).pk)

    sent = _mail_to("a@example.com")
    assert WORDS not in sent
    assert "prize desk" not in sent
    assert "owner@acme.test invited you" in sent
    assert "/invitations/" in sent


@pytest.mark.parametrize(
    "name",
    [
        "Claim at https://evil.example/win",
        "Go to evil.example.com now",
        "www.evil",
        "HTTP://EVIL.EXAMPLE",
        "mailto:prize@evil.example",
        "ftp://files",
        "evil.io",
    ],
)
def test_a_workspace_name_cannot_hold_a_web_address(tenant: Tenant, owner: User, name: str) -> None:
    with pytest.raises(TenantNameInvalid, match="web address"):
        validate_tenant_name(name)
    with pytest.raises(TenantNameInvalid):
        workspaces.workspace_rename(tenant=tenant, name=name, acting_user=owner)
    assert Tenant.objects.get(pk=tenant.pk).name == tenant.name


@pytest.mark.parametrize("name", ["Acme Inc.", "R&D — Q3", "Dr. Who's Lab", "3.14 Club", "A. B. Consulting"])
def test_ordinary_names_with_dots_are_still_names(name: str) -> None:
    assert validate_tenant_name(name) == name
