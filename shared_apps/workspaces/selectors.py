"""Reads about workspaces that need more than the tenancy core knows (their people)."""

from __future__ import annotations

from django.db.models import Count, Prefetch, QuerySet

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
