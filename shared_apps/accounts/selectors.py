"""Reads about accounts and memberships."""

from __future__ import annotations

from django.db.models import QuerySet

from shared_apps.accounts.models import Membership, User


def membership_for(*, user_id: int, tenant_id: int) -> Membership | None:
    """The user's membership in the tenant, or None. One indexed query."""
    return Membership.objects.filter(user_id=user_id, tenant_id=tenant_id).only("id", "role").first()


def membership_list_for_user(*, user: User) -> QuerySet[Membership]:
    """The user's workspaces with their tenants and primary domains, for the workspace switcher."""
    return (
        Membership.objects.filter(user=user)
        .exclude(tenant__status="spare")
        .select_related("tenant")
        .prefetch_related("tenant__domains")
        .order_by("tenant__name")
    )


def user_get_by_email(*, email: str) -> User | None:
    return User.objects.filter(email__iexact=email.strip()).first()
