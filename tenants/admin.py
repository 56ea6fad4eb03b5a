"""The operators' admin for tenants (root domain only; tenant hosts have no /admin/)."""

from __future__ import annotations

from typing import ClassVar

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from shared_apps.core.errors import ApplicationError
from tenants import services
from tenants.models import PUBLIC_SCHEMA, Domain, Tenant


class DomainInline(admin.TabularInline[Domain, Tenant]):
    model = Domain
    extra = 0
    fields = ("domain", "is_primary", "created_at")
    readonly_fields = ("created_at",)


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin[Tenant]):
    list_display = ("name", "primary_host", "status", "member_count", "schema_name", "created_at")
    list_filter = ("status", "created_at")
    search_fields = ("name", "schema_name", "domains__domain")
    readonly_fields = ("schema_name", "status", "status_changed_at", "created_at", "updated_at")
    fields = ("name", "schema_name", "status", "status_changed_at", "created_at", "updated_at")
    date_hierarchy = "created_at"
    inlines: ClassVar = [DomainInline]
    actions = ("suspend_selected", "resume_selected")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tenant]:
        return (
            super()
            .get_queryset(request)
            .exclude(schema_name=PUBLIC_SCHEMA)
            .annotate(members=Count("memberships", distinct=True))
            .prefetch_related("domains")
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Workspaces are created through provisioning (signup, `manage.py tenant create`), never a bare form.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Tenant | None = None) -> bool:
        return False

    @admin.display(description="Host")
    def primary_host(self, obj: Tenant) -> str:
        domains = sorted(obj.domains.all(), key=lambda d: (not d.is_primary, d.domain))
        return domains[0].domain if domains else "—"

    @admin.display(description="Members", ordering="members")
    def member_count(self, obj: Tenant) -> int:
        return obj.members

    def _each(self, request: HttpRequest, queryset: QuerySet[Tenant], verb: str, fn: object) -> None:
        done = 0
        for tenant in queryset:
            try:
                fn(tenant=tenant, acting_user=request.user)  # type: ignore[operator]
                done += 1
            except ApplicationError as exc:
                self.message_user(request, exc.message, messages.WARNING)
        if done:
            self.message_user(request, f"{verb} {done} workspace(s).", messages.SUCCESS)

    @admin.action(description="Suspend selected workspaces")
    def suspend_selected(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        self._each(request, queryset, "Suspended", services.tenant_suspend)

    @admin.action(description="Resume selected workspaces")
    def resume_selected(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        self._each(request, queryset, "Resumed", services.tenant_resume)
