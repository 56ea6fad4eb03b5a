"""A workspace's sign-in policy, on every request of its members (after the membership gate):

- session lifetime: a session older than the workspace allows (counted from sign-in) is ended, and the person is
  sent to sign in again;
- single sign-on required: a member of a verified domain (owners excepted: their break-glass sign-in) whose session
  here did not begin right after a sign-in through the workspace's identity provider is signed out and told to
  continue with SSO (shared_apps/identity/capture.py);
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
from django.utils.translation import gettext as _

from shared_apps.core.api import error_response, is_api_path
from shared_apps.core.context import current
from shared_apps.identity.capture import sso_required_page
from shared_apps.identity.receivers import LOGIN_AT_KEY
from shared_apps.identity.selectors import came_through_sso, policy_snapshot, sso_required_for

SSO_OK_KEY = "identity_sso_ok"  # this session was found to come through the workspace's identity provider

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
                        status=401, code="session_expired", message=_("Your session ended; sign in again.")
                    )
                return HttpResponseRedirect(f"{reverse('login')}?next={request.path}")
        # An operator signed in as a member (impersonation) is let through: that sign-in has its own rules.
        if policy.require_sso and not request.session.get(SSO_OK_KEY) and not current().impersonator:
            refused = self._sso_refusal(request, route.tenant_id, membership.role)
            if refused is not None:
                return refused
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
                    message=_("This workspace requires two-factor authentication: set it up first."),
                )
            return HttpResponseRedirect(reverse("mfa_index"))
        return self.get_response(request)

    @staticmethod
    def _sso_refusal(request: HttpRequest, tenant_id: int, role: str) -> HttpResponse | None:
        """None when the session may go on (and is remembered as such); else the person is signed out here and sent
        to the workspace's SSO sign-in."""
        user = request.user
        if not sso_required_for(tenant_id=tenant_id, email=str(getattr(user, "email", "")), role=role):
            request.session[SSO_OK_KEY] = True
            return None
        started = request.session.get(LOGIN_AT_KEY)
        if isinstance(started, (int, float)) and came_through_sso(
            tenant_id=tenant_id, user_id=int(user.pk or 0), session_started=started
        ):
            request.session[SSO_OK_KEY] = True
            return None
        logout(request)
        if is_api_path(request.path):
            return error_response(
                status=403, code="sso_required", message=_("This workspace requires signing in with single sign-on.")
            )
        return sso_required_page(request, email=str(getattr(user, "email", "")))
