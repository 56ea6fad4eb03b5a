from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from tenants.selectors import root_url


def atrium(request: HttpRequest) -> dict[str, object]:
    route = getattr(request, "route", None)
    return {
        "root_url": root_url(),
        "base_domain": settings.BASE_DOMAIN,
        "current_tenant": getattr(request, "tenant", None) if route and not route.is_public else None,
        "membership": getattr(request, "membership", None),
    }
