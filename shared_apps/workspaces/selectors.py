"""Reads about workspaces that need more than the tenancy core knows (their people)."""

from __future__ import annotations

from django.db.models import Count, Prefetch, QuerySet

from shared_apps.workspaces.models import PlatformDay
from tenants.models import Domain, Tenant
from tenants.selectors import workspaces


def workspace_list() -> QuerySet[Tenant]:
    """Every workspace (not the public tenant, the template or warm-pool spares), with member counts and domains,
    in two queries."""
    return (
        workspaces()
        .annotate(member_count=Count("memberships"))
        .prefetch_related(Prefetch("domains", queryset=Domain.objects.order_by("-is_primary", "domain")))
        .order_by("created_at")
    )


def metrics_gathered() -> bool:
    """Whether the metrics refresh ever ran (it leaves a PlatformDay each time): until then the operators' figures of
    activity and sizes are not known. One query."""
    return PlatformDay.objects.exists()
