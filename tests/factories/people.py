"""Factories and bulk helpers for members and invitations (issue 5)."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

import factory
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.utils import timezone

from shared_apps.accounts.models import Invitation, Membership, Role, User
from shared_apps.accounts.services import invitation_token_issue
from tenants.models import Tenant


class InvitationFactory(factory.django.DjangoModelFactory[Invitation]):
    class Meta:
        model = Invitation

    email = factory.Sequence(lambda n: f"invitee{n}@example.com")
    role = Role.MEMBER
    token_hash = factory.LazyFunction(lambda: Invitation.hash_token(secrets.token_urlsafe(16)))
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))


def invite(tenant: Tenant, email: str, *, role: str = Role.MEMBER, invited_by: User | None = None, **kw: Any) -> str:
    """An invitation with a usable token, as the sending task makes it. Returns the token."""
    invitation = InvitationFactory.create(tenant=tenant, email=email, role=role, invited_by=invited_by, **kw)
    issued = invitation_token_issue(invitation_id=invitation.pk)
    assert issued is not None
    return issued[1]


def add_members(tenant: Tenant, count: int, *, prefix: str = "bulk", with_mfa_every: int = 3) -> list[Membership]:
    """`count` members with verified addresses, a few with MFA and a last login, in a handful of bulk inserts."""
    now = timezone.now()
    users = User.objects.bulk_create(
        User(email=f"{prefix}{i}@example.com", name=f"Person {i:04d}", password="!", last_login=now if i % 2 else None)
        for i in range(count)
    )
    EmailAddress.objects.bulk_create(EmailAddress(user=u, email=u.email, primary=True, verified=True) for u in users)
    Authenticator.objects.bulk_create(
        Authenticator(user=u, type=Authenticator.Type.TOTP, data={"secret": "x"})
        for i, u in enumerate(users)
        if with_mfa_every and i % with_mfa_every == 0
    )
    return Membership.objects.bulk_create(Membership(user=u, tenant=tenant, role=Role.MEMBER) for u in users)
