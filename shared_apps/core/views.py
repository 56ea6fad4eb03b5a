"""Pages on the root domain, and sign-in/out shared by both worlds."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from shared_apps.accounts.selectors import membership_list_for_user
from tenants.selectors import tenant_url


def landing(request: HttpRequest) -> HttpResponse:
    return render(request, "public/landing.html")


@login_required
def workspaces(request: HttpRequest) -> HttpResponse:
    memberships = list(membership_list_for_user(user=request.user))  # type: ignore[arg-type]
    items = []
    for membership in memberships:
        domains = sorted(membership.tenant.domains.all(), key=lambda d: (not d.is_primary, d.domain))
        items.append({"membership": membership, "url": tenant_url(domains[0].domain) if domains else None})
    return render(request, "public/workspaces.html", {"items": items})


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    pass
