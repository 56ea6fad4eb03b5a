"""Pages of the tenant lifecycle on a workspace's own host."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from shared_apps.core.errors import ApplicationError
from tenants.models import Tenant
from tenants.services import tenant_restore


@login_required
@require_POST
def restore(request: HttpRequest) -> HttpResponse:
    """An owner cancels the workspace's scheduled deletion (the button on the 410 page)."""
    tenant = Tenant.objects.get(pk=request.route.tenant_id)  # type: ignore[attr-defined]
    try:
        tenant = tenant_restore(tenant=tenant, acting_user=request.user)  # type: ignore[arg-type]
    except ApplicationError as exc:
        return render(request, "errors/scheduled_deletion.html", {"error": exc.message}, status=403)
    messages.success(request, f"{tenant.name} is restored. Nothing was deleted.")
    return redirect("/")
