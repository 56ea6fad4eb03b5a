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


def user_get_or_create(*, email: str, password: str | None = None, name: str = "") -> tuple[User, bool]:
    """The account for this email, created (with `password`, or an unusable one) if there is none."""
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
    return User.objects.create_user(email=email, password=password, name=name), True


@transaction.atomic
def membership_create(*, user: User, tenant: Tenant, role: str = Role.MEMBER) -> Membership:
    membership, created = Membership.objects.get_or_create(user=user, tenant=tenant, defaults={"role": role})
    if not created:
        raise AccountError(f"{user.email} is already a member of {tenant.name}.")
    return membership
