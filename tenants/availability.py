"""Is a subdomain free? One validator (tenants.validators) and one query, with suggestions when it is taken. Used by
sign-up and by an owner moving their workspace."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from tenants.errors import SubdomainInvalid
from tenants.models import Domain
from tenants.selectors import host_for_slug
from tenants.validators import MAX_LENGTH, validate_subdomain

_SUFFIXES = ("team", "hq", "app", "co", "2", "3")


@dataclass(frozen=True)
class Availability:
    slug: str
    available: bool
    message: str
    suggestions: list[str] = field(default_factory=list)


def subdomain_availability(*, value: str) -> Availability:
    try:
        slug = validate_subdomain(value)
    except SubdomainInvalid as exc:
        return Availability(slug=value.strip().lower(), available=False, message=exc.message)
    candidates = [slug] + [f"{slug[: MAX_LENGTH - len(s) - 1]}-{s}" for s in _SUFFIXES]
    valid = []
    for candidate in candidates:
        try:
            valid.append(validate_subdomain(candidate))
        except SubdomainInvalid:
            continue
    taken = set(Domain.objects.filter(domain__in=[host_for_slug(c) for c in valid]).values_list("domain", flat=True))
    if host_for_slug(slug) not in taken:
        return Availability(
            slug=slug,
            available=True,
            message=_("%(host_for_slug)s is available.") % {"host_for_slug": host_for_slug(slug)},
        )
    free = [c for c in valid[1:] if host_for_slug(c) not in taken][:3]
    return Availability(
        slug=slug, available=False, message=_("“%(slug)s” is taken.") % {"slug": slug}, suggestions=free
    )
