"""Tenant and Domain: the public-schema records that route a host to an isolated schema."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django_tenants.models import DomainMixin, TenantMixin

_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"
PUBLIC_SCHEMA = "public"


def new_schema_name() -> str:
    """An opaque schema name (`t_` + 10 random base32 characters), never derived from the subdomain."""
    return "t_" + "".join(secrets.choice(_BASE32) for _ in range(10))


class TenantStatus(models.TextChoices):
    SPARE = "spare", "Spare (warm pool)"
    ACTIVE = "active", "Active"
    PAST_DUE = "past_due", "Past due"
    SUSPENDED = "suspended", "Suspended"
    SCHEDULED_DELETION = "scheduled_deletion", "Scheduled for deletion"


class Tenant(TenantMixin):
    """An organization's workspace. Its data lives in the PostgreSQL schema `schema_name`."""

    name = models.CharField(max_length=100)
    status = models.CharField(max_length=32, choices=TenantStatus.choices, default=TenantStatus.ACTIVE, db_index=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Schemas are created explicitly by the provisioning services, and dropped only by `tenant_delete`.
    auto_create_schema = True
    auto_drop_schema = False

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_public(self) -> bool:
        return self.schema_name == PUBLIC_SCHEMA


class Domain(DomainMixin):
    """A host name that routes to a tenant: `<slug>.<BASE_DOMAIN>` (primary) or a custom domain."""

    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_primary", "domain"]

    def __str__(self) -> str:
        return self.domain

    @property
    def slug(self) -> str | None:
        """The subdomain when this host is `<slug>.<BASE_DOMAIN>`, else None (custom domain)."""
        suffix = "." + settings.BASE_DOMAIN
        return self.domain.removesuffix(suffix) if self.domain.endswith(suffix) else None
