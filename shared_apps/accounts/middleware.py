"""Who may use a host: a session only on the host it was made for, and on a tenant host only members."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import cast

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from shared_apps.accounts.http import AccountRequest
from shared_apps.accounts.models import User
from shared_apps.accounts.selectors import membership_for, membership_list_for_user
from shared_apps.accounts.sessions import SESSION_TENANT_KEY
from shared_apps.core.api import error_response, is_api_path
from tenants.links import public_path
from tenants.selectors import root_url

# Paths a non-member may still reach on a tenant host: signing out, the static files the 403 page uses, and the SAML
# metadata the workspace publishes for its identity provider.
_OPEN_PREFIXES = ("/logout/", "/accounts/logout/", "/static/", "/sso/saml/metadata/")


class TenantMembershipMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.session_store = import_module(settings.SESSION_ENGINE).SessionStore

    def __call__(self, plain_request: HttpRequest) -> HttpResponse:
        request = cast(AccountRequest, plain_request)
        request.membership = None
        route = getattr(request, "route", None)
        if route is None or not request.session.session_key:
            # No session cookie: certainly anonymous, and no need to load the session or the user to know it.
            return self.get_response(request)
        if not request.user.is_authenticated:
            return self.get_response(request)
        if request.session.get(SESSION_TENANT_KEY) != route.tenant_id:
            # A session made for another host (a replayed cookie): this request is anonymous, and the session it
            # presented is left untouched for the host it belongs to.
            request.session = self.session_store()
            anonymous = AnonymousUser()
            request.user = anonymous

            async def auser() -> AnonymousUser:
                return anonymous

            request.auser = auser
            return self.get_response(request)
        if route.is_public:
            return self.get_response(request)
        membership = membership_for(user_id=request.user.pk, tenant_id=route.tenant_id)
        if membership is None and not request.path.startswith(_OPEN_PREFIXES):
            # The page names neither the workspace nor its members: a non-member learns nothing about it.
            if is_api_path(request.path):
                return error_response(
                    status=403, code="not_a_member", message=_("You are not a member of this workspace.")
                )
            return render(request, "errors/not_a_member.html", {"own_workspaces": _own_workspaces(request)}, status=403)
        request.membership = membership
        return self.get_response(request)


def _own_workspaces(request: AccountRequest) -> list[dict[str, str]]:
    if not isinstance(request.user, User):
        return []
    """The signed-in person's own workspaces (name and the root's "open" link), for the not-a-member page. One query
    with its prefetch; nothing about the workspace they were refused."""
    items = []
    for membership in membership_list_for_user(user=request.user)[:20]:
        domains = sorted(membership.tenant.domains.all(), key=lambda d: (not d.is_primary, d.domain))
        slug = domains[0].slug if domains else None
        if slug:
            items.append({"name": membership.tenant.name, "url": root_url() + public_path("workspace_open", slug=slug)})
    return items
