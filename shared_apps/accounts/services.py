"""Writes about accounts and memberships."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from shared_apps.accounts.models import Membership, Role, User
from shared_apps.accounts.selectors import user_get_by_email
from shared_apps.core.errors import ApplicationError
from tenants.models import Tenant


class AccountError(ApplicationError):
    pass


def user_get_or_create(
    *, email: str, password: str | None = None, name: str = "", email_verified: bool = True
) -> tuple[User, bool]:
    """The account for this email, created (with `password`, or an unusable one) if there is none.

    Accounts made here come from an operator (`manage.py tenant create`, the demo seed), who vouches for the address,
    so it is recorded as verified unless `email_verified=False`; self-service sign-up goes through allauth instead.
    """
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise AccountError(f"“{email}” is not a valid email address.") from exc
    existing = user_get_by_email(email=email)
    if existing is not None:
        return existing, False
    if password is not None:
        try:
            validate_password(password, User(email=email, name=name))
        except ValidationError as exc:
            raise AccountError(" ".join(exc.messages)) from exc
    from allauth.account.models import EmailAddress

    user = User.objects.create_user(email=email, password=password, name=name)
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=email_verified)
    return user, True


@transaction.atomic
def membership_create(*, user: User, tenant: Tenant, role: str = Role.MEMBER) -> Membership:
    membership, created = Membership.objects.get_or_create(user=user, tenant=tenant, defaults={"role": role})
    if not created:
        raise AccountError(f"{user.email} is already a member of {tenant.name}.")
    return membership


def sessions_end_all(*, user: User) -> int:
    """Sign the account out everywhere: every session on every host ends now. Returns how many ended."""
    from allauth.usersessions.models import UserSession

    sessions = list(UserSession.objects.filter(user=user))
    for session in sessions:
        session.end()
    return len(sessions)
