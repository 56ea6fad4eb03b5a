"""Reads about tenants."""

from __future__ import annotations

import socket

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from tenants.errors import TenantNotFound
from tenants.models import PUBLIC_SCHEMA, Domain, Tenant, TenantStatus


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


def workspaces() -> QuerySet[Tenant]:
    """Tenant rows that are workspaces: not the public tenant, the template, or warm-pool spares."""
    return Tenant.objects.exclude(schema_name=PUBLIC_SCHEMA).exclude(
        status__in=[TenantStatus.TEMPLATE, TenantStatus.SPARE]
    )


def tenant_get_by_slug(*, slug: str) -> Tenant:
    """The tenant whose primary host is <slug>.<BASE_DOMAIN>; TenantNotFound otherwise."""
    domain = Domain.objects.select_related("tenant").filter(domain=host_for_slug(slug.strip().lower())).first()
    if domain is None or domain.tenant.is_public or domain.tenant.status in (TenantStatus.TEMPLATE, TenantStatus.SPARE):
        raise TenantNotFound(_("No workspace with the subdomain “%(slug)s”.") % {"slug": slug})
    return domain.tenant


def primary_domain(tenant: Tenant) -> Domain | None:
    return Domain.objects.filter(tenant=tenant, is_primary=True).first()


def redirect_domains_expired() -> list[Domain]:
    """Old subdomains whose redirect grace period is over, with their tenants."""
    return list(Domain.objects.select_related("tenant").filter(redirect_until__lte=timezone.now(), is_primary=False))


def deletions_due() -> list[Tenant]:
    """Workspaces scheduled for deletion whose grace period is over, the longest overdue first."""
    return list(
        Tenant.objects.filter(
            status=TenantStatus.SCHEDULED_DELETION, deletion_scheduled_at__lte=timezone.now()
        ).order_by("deletion_scheduled_at")
    )


def domain_list(*, tenant_id: int) -> list[Domain]:
    """Every host of a workspace (primary, custom domains, old subdomains still redirecting), primary first. One
    query."""
    return list(Domain.objects.filter(tenant_id=tenant_id).order_by("-is_primary", "redirect_until", "domain"))


def _addresses(host: str) -> set[str]:
    try:
        return {str(info[4][0]) for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)}
    except (OSError, UnicodeError):
        return set()


def domain_points_at(*, host: str, target: str) -> bool:
    """Whether `host` resolves to the addresses of `target` (a custom domain's CNAME, or A records, set up as the
    domains page says). Asks the system resolver, like the browsers that will open it."""
    mine = _addresses(target)
    return bool(mine) and _addresses(host) == mine


def status_facts(*, tenant_id: int) -> Tenant | None:
    """What a workspace's status page says besides the status: the operator's reason for a suspension, when a
    scheduled deletion becomes final. One query by primary key."""
    return (
        Tenant.objects.filter(pk=tenant_id)
        .only("name", "status", "status_reason", "status_changed_at", "deletion_scheduled_at")
        .first()
    )
