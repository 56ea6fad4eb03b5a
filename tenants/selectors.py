"""Reads about tenants."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Count, Prefetch, QuerySet

from tenants.errors import TenantNotFound
from tenants.models import PUBLIC_SCHEMA, Domain, Tenant


def host_for_slug(slug: str) -> str:
    return f"{slug}.{settings.BASE_DOMAIN}"


def _origin(host: str) -> str:
    port = f":{settings.SITE_PORT}" if settings.SITE_PORT else ""
    return f"{settings.SITE_SCHEME}://{host}{port}"


def root_url() -> str:
    """The public site's absolute URL, e.g. http://localhost:8000."""
    return _origin(settings.BASE_DOMAIN)


def tenant_url(host: str) -> str:
    """A tenant host's absolute URL, e.g. http://acme.localhost:8000."""
    return _origin(host)


def tenant_list() -> QuerySet[Tenant]:
    """Every tenant except the public one and warm-pool spares, with member counts and domains, in two queries."""
    return (
        Tenant.objects.exclude(schema_name=PUBLIC_SCHEMA)
        .exclude(status="spare")
        .annotate(member_count=Count("memberships"))
        .prefetch_related(Prefetch("domains", queryset=Domain.objects.order_by("-is_primary", "domain")))
        .order_by("created_at")
    )


def tenant_get_by_slug(*, slug: str) -> Tenant:
    """The tenant whose primary host is <slug>.<BASE_DOMAIN>; TenantNotFound otherwise."""
    domain = Domain.objects.select_related("tenant").filter(domain=host_for_slug(slug.strip().lower())).first()
    if domain is None or domain.tenant.is_public:
        raise TenantNotFound(f"No workspace with the subdomain “{slug}”.")
    return domain.tenant


def primary_domain(tenant: Tenant) -> Domain | None:
    return Domain.objects.filter(tenant=tenant, is_primary=True).first()
