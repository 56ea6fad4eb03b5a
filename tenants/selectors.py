"""Reads about tenants."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Count, Prefetch, QuerySet

from tenants.errors import TenantNotFound
from tenants.models import PUBLIC_SCHEMA, Domain, Tenant, TenantEvent, TenantStatus


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
    """Every workspace (not the public tenant, the template or warm-pool spares), with member counts and domains,
    in two queries."""
    return (
        workspaces()
        .annotate(member_count=Count("memberships"))
        .prefetch_related(Prefetch("domains", queryset=Domain.objects.order_by("-is_primary", "domain")))
        .order_by("created_at")
    )


def workspaces() -> QuerySet[Tenant]:
    """Tenant rows that are workspaces: not the public tenant, the template, or warm-pool spares."""
    return Tenant.objects.exclude(schema_name=PUBLIC_SCHEMA).exclude(
        status__in=[TenantStatus.TEMPLATE, TenantStatus.SPARE]
    )


def tenant_get_by_slug(*, slug: str) -> Tenant:
    """The tenant whose primary host is <slug>.<BASE_DOMAIN>; TenantNotFound otherwise."""
    domain = Domain.objects.select_related("tenant").filter(domain=host_for_slug(slug.strip().lower())).first()
    if domain is None or domain.tenant.is_public or domain.tenant.status in (TenantStatus.TEMPLATE, TenantStatus.SPARE):
        raise TenantNotFound(f"No workspace with the subdomain “{slug}”.")
    return domain.tenant


def primary_domain(tenant: Tenant) -> Domain | None:
    return Domain.objects.filter(tenant=tenant, is_primary=True).first()


def tenant_get_by_host(*, host: str) -> Tenant:
    """The workspace a host (subdomain or custom domain) belongs to; TenantNotFound otherwise."""
    host = host.strip().lower().rstrip(".")
    if "." not in host:
        host = host_for_slug(host)
    domain = Domain.objects.select_related("tenant").filter(domain=host).first()
    if domain is None or domain.tenant.is_public or domain.tenant.status in (TenantStatus.TEMPLATE, TenantStatus.SPARE):
        raise TenantNotFound(f"No workspace at “{host}”.")
    return domain.tenant


def tenant_events(*, schema_name: str | None = None) -> QuerySet[TenantEvent]:
    """The platform's record of events on tenants (purges, immediate deletions), newest first."""
    events = TenantEvent.objects.all()
    return events.filter(schema_name=schema_name) if schema_name else events
