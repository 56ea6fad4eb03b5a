"""Request types for views behind sign-in: the account, and on a workspace host the membership that let it in."""

from __future__ import annotations

from shared_apps.accounts.models import Membership, User
from tenants.http import RoutedRequest


class AuthenticatedRequest(RoutedRequest):
    """Signed in (`login_required` or `action_required` ran first)."""

    user: User
    membership: Membership | None


class MemberRequest(AuthenticatedRequest):
    """Signed in on a workspace host as one of its members (`action_required` ran first)."""

    membership: Membership
