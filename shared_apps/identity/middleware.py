"""A workspace's sign-in policy, on every request of its members (after the membership gate):

- session lifetime: a session older than the workspace allows (counted from sign-in) is ended, and the person is
  sent to sign in again;
- two-factor required: a member without a two-factor method is sent to set one up, and reaches nothing else of the
  workspace until then (the set-up pages, signing out and static files stay open).

The policy is read through a short in-process cache (`POLICY_TTL_S`): a workspace without a policy costs nothing on
the warm path; a change reaches every process within that many seconds (at once in the one that made it).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from allauth.mfa.models import Authenticator
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from shared_apps.core.api import error_response, is_api_path
from shared_apps.identity.receivers import LOGIN_AT_KEY
from shared_apps.identity.selectors import policy_snapshot

_OPEN_PREFIXES = ("/accounts/2fa/", "/accounts/logout/", "/logout/", "/static/", "/accounts/reauthenticate/")


class WorkspacePolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        membership = getattr(request, "membership", None)
        route = getattr(request, "route", None)
        if membership is None or route is None or request.path.startswith(_OPEN_PREFIXES):
            return self.get_response(request)
        policy = policy_snapshot(tenant_id=route.tenant_id)
        if policy is None:
            return self.get_response(request)
        if policy.session_lifetime_minutes:
            signed_in = request.session.get(LOGIN_AT_KEY)
            if (
                not isinstance(signed_in, (int, float))
                or time.time() - signed_in > policy.session_lifetime_minutes * 60
            ):
                logout(request)
                if is_api_path(request.path):
                    return error_response(
                        status=401, code="session_expired", message="Your session ended; sign in again."
                    )
                return HttpResponseRedirect(f"{reverse('login')}?next={request.path}")
        if (
            policy.require_two_factor
            and not Authenticator.objects.filter(
                user_id=request.user.pk, type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
            ).exists()
        ):
            if is_api_path(request.path):
                return error_response(
                    status=403,
                    code="two_factor_required",
                    message="This workspace requires two-factor authentication: set it up first.",
                )
            return HttpResponseRedirect(reverse("mfa_index"))
        return self.get_response(request)
