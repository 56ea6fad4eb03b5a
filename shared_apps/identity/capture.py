"""Capture: a member of a workspace's verified domain, on a workspace whose policy requires single sign-on, signs in
there through its identity provider only. On the workspace's host a sign-in another way — password, emailed code,
passkey — is refused before any session is made; a session that arrives another way (a root sign-in handed off, a
social login, a session older than the policy) is ended by the policy middleware. Either way the person is told why,
with a link to "Continue with SSO". Owners keep their break-glass sign-in; addresses outside the verified domains are
not concerned (`selectors.sso_required_for`)."""

from __future__ import annotations

from typing import Any

from allauth.account.internal.stagekit import clear_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from shared_apps.accounts.adapter import AccountAdapter as AccountsAccountAdapter
from shared_apps.accounts.selectors import membership_for
from shared_apps.identity.selectors import policy_snapshot, sso_required_for
from tenants.selectors import root_url


def sso_required_page(request: HttpRequest, *, email: str) -> HttpResponse:
    """403 on the workspace's host: this address signs in to this workspace with single sign-on only."""
    slug = request.get_host().split(".")[0].split(":")[0]
    context = {"email": email, "domain": email.rpartition("@")[2], "sso_url": f"{root_url()}/sso/?workspace={slug}"}
    return render(request, "identity/sso_required.html", context, status=403)


class AccountAdapter(AccountsAccountAdapter):
    def pre_login(self, request: HttpRequest, user: Any, **kwargs: Any) -> HttpResponse | None:
        refused = super().pre_login(request, user, **kwargs)
        if refused is not None:
            return refused
        route = getattr(request, "route", None)
        if route is None or route.is_public:
            return None  # the root: the workspace decides when the person arrives (handoff, then every request)
        policy = policy_snapshot(tenant_id=route.tenant_id)
        if policy is None or not policy.require_sso:
            return None
        membership = membership_for(user_id=user.pk, tenant_id=route.tenant_id)
        email = str(getattr(user, "email", ""))
        if membership is None or not sso_required_for(tenant_id=route.tenant_id, email=email, role=membership.role):
            return None
        clear_login(request)
        return sso_required_page(request, email=email)
