"""Organization sign-up on the root domain: account (allauth) → workspace name and subdomain → the new workspace."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from shared_apps.accounts.handoff import handoff_create
from shared_apps.signup.forms import WorkspaceForm
from shared_apps.signup.selectors import subdomain_availability
from tenants.errors import SubdomainTaken, TenantError
from tenants.services import tenant_create


def start(request: HttpRequest) -> HttpResponse:
    """ "Create your workspace": an account first (or straight to the workspace step when signed in)."""
    if request.user.is_authenticated:
        return redirect("/signup/workspace/")
    return redirect("/accounts/signup/?next=/signup/workspace/")


@login_required(login_url="/accounts/signup/")
def workspace(request: HttpRequest) -> HttpResponse:
    form = WorkspaceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            tenant, _ = tenant_create(
                slug=form.cleaned_data["subdomain"],
                name=form.cleaned_data["name"],
                owner_email=request.user.email,  # type: ignore[union-attr]
                acting_user=request.user,  # type: ignore[arg-type]
            )
        except SubdomainTaken as exc:
            form.add_error("subdomain", exc.message)
        except TenantError as exc:
            form.add_error(None, exc.message)
        else:
            return HttpResponseRedirect(handoff_create(user=request.user, tenant=tenant))  # type: ignore[arg-type]
    return render(request, "signup/workspace.html", {"form": form})


@require_GET
def check_subdomain(request: HttpRequest) -> HttpResponse:
    """HTMX: the availability line under the subdomain field."""
    availability = subdomain_availability(value=request.GET.get("subdomain", ""))
    return render(request, "signup/_availability.html", {"availability": availability})
