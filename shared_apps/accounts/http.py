"""Request types for views behind sign-in: the account, and on a workspace host the membership that let it in."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase

from shared_apps.accounts.models import Membership, User
from tenants.http import RoutedRequest

View = Callable[..., HttpResponseBase]


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


def member_required(*, not_found: tuple[type[Exception], ...] = ()) -> Callable[[View], View]:
    """A page for this workspace's members: the sign-in page for visitors, "not found" for anyone else (the
    membership middleware has already answered 403 to signed-in non-members), and `not_found` errors as 404."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if getattr(request, "membership", None) is None:
                raise Http404
            try:
                return view(request, *args, **kwargs)
            except not_found as exc:
                raise Http404 from exc

        return wrapped

    return decorate
