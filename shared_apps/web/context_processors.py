from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from shared_apps.accounts.permissions import allowed_actions
from tenants.links import public_path


def atrium(request: HttpRequest) -> dict[str, object]:
    route = getattr(request, "route", None)
    on_tenant = route is not None and not route.is_public
    membership = getattr(request, "membership", None)
    context: dict[str, object] = {
        "base_domain": settings.BASE_DOMAIN,
        "current_tenant": getattr(request, "tenant", None) if on_tenant else None,
        "membership": membership,
        # What the signed-in member's role may do here: the navigation links only to pages that will open.
        "nav_allowed": {str(a) for a in allowed_actions(membership.role)} if membership is not None else set(),
        # An operator signed in as a member: the banner every page shows (shared_apps/operators/middleware.py).
        "impersonation": getattr(request, "impersonation", None),
        # The reader's time zone (the person's, else UTC), which pages name wherever they show a time.
        "TIME_ZONE": timezone.get_current_timezone_name(),
    }
    if route is not None and on_tenant:
        # Social sign-in runs on the root (one callback URL per provider) and comes back here through a handoff.
        suffix = "." + settings.BASE_DOMAIN
        slug = route.primary_host.removesuffix(suffix) if route.primary_host.endswith(suffix) else None
        context["workspace_return_path"] = (
            public_path("workspace_open", slug=slug) if slug else public_path("workspaces")
        )
    return context
