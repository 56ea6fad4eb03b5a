"""Tenant and Domain: the public-schema records that route a host to an isolated schema."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_tenants.models import DomainMixin, TenantMixin

_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"
PUBLIC_SCHEMA = "public"


def new_schema_name() -> str:
    """An opaque schema name (`t_` + 10 random base32 characters), never derived from the subdomain."""
    return "t_" + "".join(secrets.choice(_BASE32) for _ in range(10))


class TenantStatus(models.TextChoices):
    TEMPLATE = "template", _("Template (schema the fast path copies)")
    SPARE = "spare", _("Spare (warm pool)")
    ACTIVE = "active", _("Active")
    PAST_DUE = "past_due", _("Past due")
    # Payment overdue past the grace period: pages read, writes are refused, billing stays reachable.
    READ_ONLY = "read_only", _("Read-only (payment overdue)")
    SUSPENDED = "suspended", _("Suspended")
    # The subscription was canceled or left unpaid: suspended, but owners can still reach billing and pay.
    BILLING_SUSPENDED = "billing_suspended", _("Suspended (unpaid)")
    SCHEDULED_DELETION = "scheduled_deletion", _("Scheduled for deletion")


class RouteSnapshotReadOnly(RuntimeError):
    """A write through the Tenant snapshot routing puts on the request."""


class Tenant(TenantMixin):
    """An organization's workspace. Its data lives in the PostgreSQL schema `schema_name`."""

    STATUS_REASON_MAX = 500

    name = models.CharField(max_length=100)
    status = models.CharField(max_length=32, choices=TenantStatus.choices, default=TenantStatus.ACTIVE, db_index=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    # Why an operator suspended the workspace, shown to its owners on its suspension page (empty otherwise).
    status_reason = models.CharField(max_length=STATUS_REASON_MAX, blank=True, default="")
    # While scheduled for deletion: when the purge becomes due, and the status a restore goes back to.
    deletion_scheduled_at = models.DateTimeField(null=True, blank=True)
    status_before_deletion = models.CharField(max_length=32, choices=TenantStatus.choices, blank=True)
    # The workspace's default language for people who chose none (one of LANGUAGES; empty: the browser's).
    language = models.CharField(max_length=8, blank=True, default="")
    # A spare's migration state as it was made (the digest of `tenants.provisioning.migration_state`): a claim reads
    # the schema's own django_migrations only when this process does not know that digest to be current.
    migrations_fingerprint = models.CharField(max_length=32, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Schemas are created explicitly by the provisioning services (tenants.provisioning: pool claim, template replay,
    # or migrations), and dropped only by `tenant_delete` / `tenant_purge`.
    auto_create_schema = True
    auto_drop_schema = False

    # True on the instances routing builds for `request.tenant` (tenants.routing.Route.tenant): a few fields of the
    # row as the routing cache had them, possibly stale, never to be written back.
    route_snapshot = False

    class Meta:
        ordering = ["name"]
        # What operators and people call it ("1 workspace" in the admin), whatever the code calls it.
        verbose_name = "workspace"

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self._refuse_if_snapshot("save")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        self._refuse_if_snapshot("delete")
        return super().delete(*args, **kwargs)

    def _refuse_if_snapshot(self, operation: str) -> None:
        if self.route_snapshot:
            raise RouteSnapshotReadOnly(
                f"{operation}() on request.tenant, a read-only snapshot from the routing cache: load the row "
                f"(Tenant.objects.select_for_update().get(pk=...)) and change that instead."
            )

    @property
    def is_public(self) -> bool:
        return self.schema_name == PUBLIC_SCHEMA


class Domain(DomainMixin):
    """A host name that routes to a tenant: `<slug>.<BASE_DOMAIN>` (primary) or a custom domain."""

    # Set on a host the tenant was renamed away from: it only redirects to the primary host until then.
    redirect_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_primary", "domain"]
        constraints = [
            # One primary host per tenant: links, handoffs and redirects all go to it.
            models.UniqueConstraint(
                fields=["tenant"], condition=models.Q(is_primary=True), name="tenants_domain_one_primary"
            )
        ]

    def __str__(self) -> str:
        return self.domain

    @property
    def slug(self) -> str | None:
        """The subdomain when this host is `<slug>.<BASE_DOMAIN>`, else None (custom domain)."""
        suffix = "." + settings.BASE_DOMAIN
        return self.domain.removesuffix(suffix) if self.domain.endswith(suffix) else None


class TenantEvent(models.Model):
    """The platform's own record of events on tenants (public schema). Outlives the tenant: no foreign key to it.

    A tenant's audit log lives in its schema and goes with it; what must survive a purge is written here.
    """

    tenant_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    schema_name = models.CharField(max_length=63, db_index=True)
    tenant_name = models.CharField(max_length=100, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=254, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} {self.schema_name}"
