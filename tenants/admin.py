"""The operators' admin for tenants (root domain only; tenant hosts have no /admin/)."""

from __future__ import annotations

from typing import ClassVar

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from shared_apps.core.errors import ApplicationError
from tenants import selectors, services
from tenants.models import Domain, Tenant, TenantEvent
from tenants.validators import validate_custom_domain, validate_subdomain


class DomainForm(forms.ModelForm[Domain]):
    """Hosts typed by operators pass the same validators as the command and signup."""

    class Meta:
        model = Domain
        fields = ("domain", "is_primary")

    def clean_domain(self) -> str:
        value = self.cleaned_data["domain"].strip().lower().rstrip(".")
        suffix = "." + settings.BASE_DOMAIN
        try:
            if value.endswith(suffix):
                return validate_subdomain(value.removesuffix(suffix)) + suffix
            return validate_custom_domain(value)
        except ApplicationError as exc:
            raise forms.ValidationError(exc.message) from exc


class DomainInline(admin.TabularInline[Domain, Tenant]):
    model = Domain
    form = DomainForm
    extra = 0
    fields = ("domain", "is_primary", "redirect_until", "created_at")
    readonly_fields = ("redirect_until", "created_at")


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin[Tenant]):
    list_display = ("name", "primary_host", "status", "member_count", "schema_name", "created_at")
    list_filter = ("status", "created_at")
    search_fields = ("name", "schema_name", "domains__domain")
    readonly_fields = (
        "schema_name",
        "status",
        "status_changed_at",
        "deletion_scheduled_at",
        "status_before_deletion",
        "created_at",
        "updated_at",
    )
    fields = (
        "name",
        "schema_name",
        "status",
        "status_changed_at",
        "deletion_scheduled_at",
        "status_before_deletion",
        "created_at",
        "updated_at",
    )
    date_hierarchy = "created_at"
    inlines: ClassVar = [DomainInline]
    actions = ("suspend_selected", "resume_selected", "schedule_deletion_selected", "restore_selected")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tenant]:
        return selectors.workspaces().annotate(members=Count("memberships", distinct=True)).prefetch_related("domains")

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

    @admin.action(description="Schedule selected workspaces for deletion")
    def schedule_deletion_selected(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        self._each(request, queryset, "Scheduled for deletion", services.tenant_schedule_deletion)

    @admin.action(description="Restore selected workspaces scheduled for deletion")
    def restore_selected(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        self._each(request, queryset, "Restored", services.tenant_restore)


@admin.register(TenantEvent)
class TenantEventAdmin(admin.ModelAdmin[TenantEvent]):
    """The platform's record of purges and deletions (the tenant's own audit log went with its schema)."""

    list_display = ("created_at", "action", "tenant_name", "schema_name", "actor_label")
    list_filter = ("action",)
    search_fields = ("tenant_name", "schema_name", "actor_label")
    readonly_fields = (
        "tenant_id",
        "schema_name",
        "tenant_name",
        "action",
        "actor",
        "actor_label",
        "metadata",
        "created_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: TenantEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: TenantEvent | None = None) -> bool:
        return False
