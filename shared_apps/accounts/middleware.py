"""A signed-in user without a membership in the current tenant is not let in, whatever their session says."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from shared_apps.accounts.selectors import membership_for

# Paths a non-member may still reach on a tenant host: signing out, and the static files the 403 page uses.
_OPEN_PREFIXES = ("/logout/", "/static/")


class TenantMembershipMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.membership = None  # type: ignore[attr-defined]
        route = getattr(request, "route", None)
        if route is None or route.is_public or not request.session.session_key:
            # No session cookie: certainly anonymous, and no need to load the session or the user to know it.
            return self.get_response(request)
        if not request.user.is_authenticated:
            return self.get_response(request)
        membership = membership_for(user_id=request.user.pk, tenant_id=route.tenant_id)
        if membership is None and not request.path.startswith(_OPEN_PREFIXES):
            # The page names neither the workspace nor its members: a non-member learns nothing about it.
            return render(request, "errors/not_a_member.html", status=403)
        request.membership = membership  # type: ignore[attr-defined]
        return self.get_response(request)
