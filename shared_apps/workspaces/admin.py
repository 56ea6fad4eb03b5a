"""The operators' admin for workspaces (root domain only; tenant hosts have no /admin/).

Nothing here writes a row directly: every change is an admin action that declares the Django permission it needs and
calls the workspace services, which check the operator's permission again, apply the tenancy rules and write the
audit entry. Domains and members are shown read-only; their changes go through the actions (domains) or the
workspace's own settings pages (members, where the last-owner rule and seat limits live).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from shared_apps.accounts.models import Membership, User
from shared_apps.core.admin import ReadOnlyTabularInline
from shared_apps.core.errors import ApplicationError
from shared_apps.workspaces import services
from shared_apps.workspaces.services import OperatorPermission, is_operator_with
from tenants.models import Domain, Tenant, TenantEvent
from tenants.selectors import workspaces
from tenants.validators import validate_custom_domain, validate_subdomain


class DomainInline(ReadOnlyTabularInline[Domain, Tenant]):
    model = Domain
    fields = ("domain", "is_primary", "redirect_until", "created_at")


class MembershipInline(ReadOnlyTabularInline[Membership, Tenant]):
    model = Membership
    fields = ("user", "role", "created_at")
    verbose_name_plural = "members (changed by the workspace's owners and admins on its settings pages)"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Membership]:
        return super().get_queryset(request).select_related("user")


class ReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=500, required=False, help_text="Recorded in the workspace's audit log.", strip=True
    )


class SubdomainForm(forms.Form):
    """Hosts typed by operators pass the same validators as the command and signup (again in the service)."""

    new_slug = forms.CharField(label="New subdomain", max_length=63)

    def clean_new_slug(self) -> str:
        try:
            return validate_subdomain(self.cleaned_data["new_slug"])
        except ApplicationError as exc:
            raise forms.ValidationError(exc.message) from exc


class DomainForm(forms.Form):
    domain = forms.CharField(label="Custom domain", max_length=253, help_text="e.g. projects.acme.com")

    def clean_domain(self) -> str:
        try:
            return validate_custom_domain(self.cleaned_data["domain"])
        except ApplicationError as exc:
            raise forms.ValidationError(exc.message) from exc


Change = Callable[[Tenant, User, dict[str, Any]], object]


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin[Tenant]):
    list_display = ("name", "primary_host", "status", "member_count", "schema_name", "created_at")
    list_filter = ("status", "created_at")
    search_fields = ("name", "schema_name", "domains__domain")
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
    readonly_fields = fields
    date_hierarchy = "created_at"
    inlines: ClassVar = [DomainInline, MembershipInline]
    actions = (
        "suspend_selected",
        "resume_selected",
        "schedule_deletion_selected",
        "restore_selected",
        "rename_subdomain",
        "add_domain",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tenant]:
        return workspaces().annotate(members=Count("memberships", distinct=True)).prefetch_related("domains")

    # Workspaces are created through provisioning (signup, `manage.py tenant create`) and deleted through the
    # lifecycle (schedule deletion → purge), never through a bare form; the change form is read-only.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Tenant | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Tenant | None = None) -> bool:
        # The list's actions need "change"; a workspace's own page is always read-only (no bare save).
        return obj is None and is_operator_with(request.user, OperatorPermission.CHANGE)

    def has_schedule_deletion_permission(self, request: HttpRequest) -> bool:
        return is_operator_with(request.user, OperatorPermission.DELETE)

    @admin.display(description="Host")
    def primary_host(self, obj: Tenant) -> str:
        domains = sorted(obj.domains.all(), key=lambda d: (not d.is_primary, d.domain))
        return domains[0].domain if domains else "—"

    @admin.display(description="Members", ordering="members")
    def member_count(self, obj: Tenant) -> int:
        return int(getattr(obj, "members", 0))

    def _each(self, request: HttpRequest, queryset: QuerySet[Tenant], verb: str, change: Change, **data: Any) -> int:
        done = 0
        operator = request.user
        if not isinstance(operator, User):
            return 0
        for tenant in queryset:
            try:
                change(tenant, operator, data)
                done += 1
            except ApplicationError as exc:
                self.message_user(request, exc.message, messages.WARNING)
        if done:
            self.message_user(request, f"{verb} {done} workspace(s).", messages.SUCCESS)
        return done

    def _with_form(
        self,
        request: HttpRequest,
        queryset: QuerySet[Tenant],
        *,
        form_class: type[forms.Form],
        title: str,
        button: str,
        apply: Callable[[dict[str, Any]], object],
        single: bool = False,
    ) -> HttpResponse | None:
        """An action that asks for input first: the form on an intermediate page, then `apply(cleaned_data)`."""
        if single and queryset.count() != 1:
            self.message_user(request, "Select exactly one workspace for this action.", messages.WARNING)
            return None
        form = form_class(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            apply(form.cleaned_data)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "button": button,
            "form": form,
            "workspaces": list(queryset),
            "action": request.POST.get("action", ""),
            "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/workspaces/action_form.html", context)

    @admin.action(description="Suspend selected workspaces", permissions=["change"])
    def suspend_selected(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> HttpResponse | None:
        return self._with_form(
            request,
            queryset,
            form_class=ReasonForm,
            title="Suspend workspaces",
            button="Suspend",
            apply=lambda data: self._each(
                request,
                queryset,
                "Suspended",
                lambda t, u, d: services.workspace_suspend(tenant=t, acting_user=u, reason=d["reason"]),
                **data,
            ),
        )

    @admin.action(description="Resume selected workspaces", permissions=["change"])
    def resume_selected(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        self._each(request, queryset, "Resumed", lambda t, u, d: services.workspace_resume(tenant=t, acting_user=u))

    @admin.action(description="Schedule selected workspaces for deletion", permissions=["schedule_deletion"])
    def schedule_deletion_selected(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> HttpResponse | None:
        return self._with_form(
            request,
            queryset,
            form_class=ReasonForm,
            title="Schedule workspaces for deletion (restorable during the grace period)",
            button="Schedule deletion",
            apply=lambda data: self._each(
                request,
                queryset,
                "Scheduled for deletion",
                lambda t, u, d: services.workspace_schedule_deletion(tenant=t, acting_user=u, reason=d["reason"]),
                **data,
            ),
        )

    @admin.action(description="Restore selected workspaces scheduled for deletion", permissions=["schedule_deletion"])
    def restore_selected(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        self._each(request, queryset, "Restored", lambda t, u, d: services.workspace_restore(tenant=t, acting_user=u))

    @admin.action(description="Rename the subdomain of the selected workspace", permissions=["change"])
    def rename_subdomain(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> HttpResponse | None:
        return self._with_form(
            request,
            queryset,
            form_class=SubdomainForm,
            title="Rename the subdomain (the old one redirects for the grace period)",
            button="Rename",
            single=True,
            apply=lambda data: self._each(
                request,
                queryset,
                "Renamed",
                lambda t, u, d: services.workspace_rename_subdomain(tenant=t, new_slug=d["new_slug"], acting_user=u),
                **data,
            ),
        )

    @admin.action(description="Add a custom domain to the selected workspace", permissions=["change"])
    def add_domain(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> HttpResponse | None:
        return self._with_form(
            request,
            queryset,
            form_class=DomainForm,
            title="Add a custom domain",
            button="Add domain",
            single=True,
            apply=lambda data: self._each(
                request,
                queryset,
                "Added a domain to",
                lambda t, u, d: services.workspace_domain_add(tenant=t, domain=d["domain"], acting_user=u),
                **data,
            ),
        )


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
