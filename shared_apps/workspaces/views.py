"""Pages of the workspace lifecycle on a workspace's own host."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from shared_apps.accounts.http import AuthenticatedRequest
from shared_apps.core.errors import ApplicationError
from shared_apps.workspaces.services import workspace_restore
from tenants.models import Tenant


@login_required
@require_POST
def restore(request: AuthenticatedRequest) -> HttpResponse:
    """An owner cancels the workspace's scheduled deletion (the button on the 410 page)."""
    tenant = Tenant.objects.get(pk=request.route.tenant_id)
    try:
        tenant = workspace_restore(tenant=tenant, acting_user=request.user)
    except ApplicationError as exc:
        return render(request, "errors/scheduled_deletion.html", {"error": exc.message}, status=403)
    messages.success(request, f"{tenant.name} is restored. Nothing was deleted.")
    return redirect("home")
