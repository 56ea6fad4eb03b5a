"""The guided start's fragments on a workspace host: the home page's checklist (/start/checklist/), its dismissal,
and the sidebar's trial days for owners (/start/trial/). Thin: a selector and a template each."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from shared_apps.accounts.http import MemberRequest, member_required
from shared_apps.accounts.models import Role
from tenant_apps.onboarding import selectors, services

members_only = member_required()


@require_GET
@members_only
def checklist(request: MemberRequest) -> HttpResponse:
    steps = selectors.checklist_for(
        user=request.user, tenant_id=request.membership.tenant_id, is_owner=request.membership.role == Role.OWNER
    )
    done = sum(1 for s in steps or [] if s.done)
    return render(request, "tenant/onboarding/_checklist.html", {"steps": steps, "done": done})


@require_POST
@members_only
def checklist_dismiss(request: MemberRequest) -> HttpResponse:
    services.checklist_dismiss(acting_user=request.user)
    if request.htmx:  # type: ignore[attr-defined]
        return HttpResponse("")
    return redirect("home")


@require_GET
@members_only
def trial(request: MemberRequest) -> HttpResponse:
    days = None
    if request.membership.role == Role.OWNER:
        days = selectors.trial_days_left(tenant_id=request.membership.tenant_id)
    return render(request, "tenant/onboarding/_trial.html", {"days": days})
