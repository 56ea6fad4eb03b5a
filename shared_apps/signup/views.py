"""Organization sign-up on the root domain: account (allauth) → workspace name and subdomain → the new workspace."""

from __future__ import annotations

from urllib.parse import urlencode

from allauth.core import ratelimit
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from billing.plans import PLANS
from shared_apps.accounts.handoff import handoff_start_url
from shared_apps.accounts.http import AuthenticatedRequest
from shared_apps.core.errors import ApplicationError
from shared_apps.signup.forms import WorkspaceForm
from shared_apps.signup.selectors import subdomain_availability
from shared_apps.workspaces.services import OperatorPermission, is_operator_with, workspace_create
from tenants.errors import SubdomainTaken
from tenants.links import workspace_path

# The plan chosen on the pricing page (`/signup/?plan=pro`), kept for the workspace step, which hands the new owner to
# the billing page with that plan's checkout one click away.
PLAN_SESSION_KEY = "signup_plan"


def _chosen_plan(request: HttpRequest) -> str:
    plan = PLANS.get(request.GET.get("plan", "")[:32])
    if plan is not None and not plan.is_free:
        request.session[PLAN_SESSION_KEY] = plan.code
    return str(request.session.get(PLAN_SESSION_KEY, ""))


def start(request: HttpRequest) -> HttpResponse:
    """ "Create your workspace": an account first (or straight to the workspace step when signed in)."""
    _chosen_plan(request)
    if request.user.is_authenticated:
        return redirect("signup_workspace")
    return redirect(f"{reverse('account_signup')}?next={reverse('signup_workspace')}")


@login_required(login_url="account_signup")
def workspace(request: AuthenticatedRequest) -> HttpResponse:
    form = WorkspaceForm(request.POST or None)
    availability = None
    if request.method == "POST" and form.is_valid():
        # Each workspace is a schema: creation is rate limited per account and per IP (ACCOUNT_RATE_LIMITS
        # "workspace_create", global keys), on top of the cap on workspaces one account owns.
        if not is_operator_with(request.user, OperatorPermission.ADD) and not ratelimit.consume(
            request, action="workspace_create", user=request.user
        ):
            return ratelimit.respond_429(request)
        try:
            tenant, _ = workspace_create(
                slug=form.cleaned_data["subdomain"],
                name=form.cleaned_data["name"],
                owner_email=request.user.email,
                acting_user=request.user,
            )
        except SubdomainTaken:
            # The suggestions stay under the field (as the live check shows them), and the focus goes there.
            availability = subdomain_availability(value=form.cleaned_data["subdomain"])
            form.add_error("subdomain", availability.message)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            plan = request.session.pop(PLAN_SESSION_KEY, "")
            next_path = f"{workspace_path('settings_billing')}?{urlencode({'plan': plan})}" if plan in PLANS else "/"
            return HttpResponseRedirect(handoff_start_url(user=request.user, tenant=tenant, next_path=next_path))
    return render(request, "signup/workspace.html", {"form": form, "availability": availability})


@require_GET
def check_subdomain(request: HttpRequest) -> HttpResponse:
    """HTMX: the availability line under the subdomain field."""
    availability = subdomain_availability(value=request.GET.get("subdomain", ""))
    return render(request, "signup/_availability.html", {"availability": availability})
