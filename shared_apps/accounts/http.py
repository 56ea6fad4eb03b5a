"""Request types for views behind sign-in: the account, and on a workspace host the membership that let it in."""

from __future__ import annotations

from shared_apps.accounts.models import Membership, User
from tenants.http import RoutedRequest


class AccountRequest(RoutedRequest):
    """After `TenantMembershipMiddleware`: the membership that let the person in on a workspace host (None on the
    root domain and for anonymous visitors)."""

    membership: Membership | None


class AuthenticatedRequest(AccountRequest):
    """Signed in (`login_required` or `action_required` ran first)."""

    user: User


class MemberRequest(AuthenticatedRequest):
    """Signed in on a workspace host as one of its members (`action_required` ran first)."""

    membership: Membership
