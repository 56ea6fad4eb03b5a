"""The operators' admin for workspaces and their event log (root domain only; tenant hosts have no /admin/).

Nothing here writes a row directly: every change is an admin action (`actions`) that declares the Django permission
it needs, asks for a reason, and calls the workspace services (`services`, `operators`, `impersonation`), which check
the operator's permission again, apply the rules, and record the change in the operator log and in the workspace's
own audit log. Lists read the metrics table (`WorkspaceMetrics`, filled by the metrics refresh), never the
workspaces' schemas: the same number of queries for 2 workspaces as for 2,000.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar

from django.contrib import admin
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext_lazy
from django.utils.translation import gettext_lazy as _
from django_tenants.utils import tenant_context

from billing import plans
from billing import selectors as billing_selectors
from billing.formatting import money_text, size_text
from billing.models import BillingAccount
from shared_apps.accounts.models import Membership, Role, User
from shared_apps.accounts.selectors import member_list
from shared_apps.core.text import without_nul
from shared_apps.operators.admin.actions import DomainForm, OperatorActions, PlanForm, SubdomainForm, TrialForm
from shared_apps.operators.admin.readonly import ReadOnlyTabularInline
from shared_apps.workspaces import impersonation, operators, services
from shared_apps.workspaces.models import ImpersonationSession, OperatorLogEntry, WorkspaceMetrics
from shared_apps.workspaces.services import OperatorPermission, is_operator_with
from tenant_apps.audit.actions import action_label
from tenant_apps.audit.models import AuditEntry
from tenants.models import Domain, Tenant, TenantEvent
from tenants.selectors import workspaces

RECENT_AUDIT = 20
MEMBERS_SHOWN = 100


class DomainInline(ReadOnlyTabularInline[Domain, Tenant]):
    model = Domain
    fields = ("domain", "is_primary", "redirect_until", "created_at")


class PlanFilter(admin.SimpleListFilter):
    title = _("plan")
    parameter_name = "plan"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(p.code, p.name) for p in billing_selectors.plan_choices()] + [("none", gettext("No plan"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value == "none":
            return queryset.filter(Q(billing_account__isnull=True) | Q(billing_account__plan=""))
        if value:
            return queryset.filter(billing_account__plan=value)
        return queryset


class ActivityFilter(admin.SimpleListFilter):
    title = _("last activity")
    parameter_name = "activity"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("7", gettext("In the last 7 days")),
            ("30", gettext("In the last 30 days")),
            ("dormant", gettext("Not in 30 days or never")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value in ("7", "30"):
            return queryset.filter(metrics__last_activity_at__gte=timezone.now() - timedelta(days=int(value)))
        if value == "dormant":
            cutoff = timezone.now() - timedelta(days=30)
            return queryset.filter(Q(metrics__last_activity_at__lt=cutoff) | Q(metrics__last_activity_at__isnull=True))
        return queryset


def _metrics(obj: Tenant) -> WorkspaceMetrics | None:
    try:
        return obj.metrics
    except WorkspaceMetrics.DoesNotExist:
        return None


def _account(obj: Tenant) -> BillingAccount | None:
    try:
        return obj.billing_account
    except BillingAccount.DoesNotExist:
        return None


@admin.register(Tenant)
class TenantAdmin(OperatorActions, admin.ModelAdmin[Tenant]):
    list_display = (
        "name",
        "host",
        "status",
        "plan",
        "members",
        "storage",
        "mrr",
        "created_at",
        "last_activity",
    )
    list_filter = ("status", PlanFilter, ActivityFilter, "created_at")
    search_fields = ("name",)
    search_help_text = _("Name, domain or owner's email")
    list_per_page = 50
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
    inlines: ClassVar = [DomainInline]
    change_form_template = "admin/workspaces/tenant_detail.html"
    actions = (
        "suspend_selected",
        "resume_selected",
        "extend_trial",
        "change_plan",
        "export_selected",
        "schedule_deletion_selected",
        "restore_selected",
        "rename_subdomain",
        "add_domain",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tenant]:
        host = Domain.objects.filter(tenant=OuterRef("pk"), is_primary=True).values("domain")[:1]
        owner = (
            Membership.objects.filter(tenant=OuterRef("pk"), role=Role.OWNER)
            .order_by("created_at")
            .values("user__email")[:1]
        )
        return (
            workspaces()
            .select_related("metrics", "billing_account")
            .annotate(primary_host=Subquery(host), owner_email=Subquery(owner))
        )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Tenant], search_term: str
    ) -> tuple[QuerySet[Tenant], bool]:
        """Name, any of its domains, or an owner's email: EXISTS subqueries, so no row repeats and no DISTINCT."""
        term = without_nul(search_term).strip()[:254]
        if not term:
            return queryset, False
        domains = Domain.objects.filter(tenant=OuterRef("pk"), domain__icontains=term)
        owners = Membership.objects.filter(tenant=OuterRef("pk"), role=Role.OWNER, user__email__icontains=term)
        return queryset.filter(Q(name__icontains=term) | Exists(domains) | Exists(owners)), False

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

    # --- columns (from the metrics table and the two subqueries: no query per row) -----------------------------

    @admin.display(description=_("Host"), ordering="primary_host")
    def host(self, obj: Tenant) -> str:
        return str(getattr(obj, "primary_host", None) or "—")

    # Plan and MRR are read from the billing account itself (joined, no query per row): a workspace that started
    # paying since the last metrics refresh shows it at once.
    @admin.display(description=_("Plan"), ordering="billing_account__plan")
    def plan(self, obj: Tenant) -> str:
        account = _account(obj)
        if account is None or not account.plan:
            return "—"
        plan = plans.plan_get(account.plan)
        name = plan.name if plan else account.plan
        return gettext("%(plan)s (trial)") % {"plan": name} if account.status == "trialing" else name

    @admin.display(description=_("Members"), ordering="metrics__members")
    def members(self, obj: Tenant) -> str:
        m = _metrics(obj)
        return str(m.members) if m else "—"

    @admin.display(description=_("Storage"), ordering="metrics__database_bytes")
    def storage(self, obj: Tenant) -> str:
        m = _metrics(obj)
        if m is None:
            return "—"
        files = size_text(m.storage_bytes) if m.storage_bytes is not None else gettext("files not reported")
        return gettext("%(database)s db · %(files)s") % {"database": size_text(m.database_bytes), "files": files}

    @admin.display(description=_("MRR"), ordering="metrics__mrr_cents")
    def mrr(self, obj: Tenant) -> str:
        account = _account(obj)
        return money_text(billing_selectors.account_mrr_cents(account), decimals=0) if account else "—"

    @admin.display(description=_("Last activity"), ordering="metrics__last_activity_at")
    def last_activity(self, obj: Tenant) -> str:
        m = _metrics(obj)
        if m is None:
            return gettext("not refreshed yet")
        if m.last_activity_at is None:
            return gettext("never")
        return date_format(timezone.localtime(m.last_activity_at), "DATETIME_FORMAT")

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return super().changelist_view(request, {"title": _("Workspaces"), **(extra_context or {})})

    # --- the workspace's page -------------------------------------------------------------------------------------

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = dict(extra_context or {})
        tenant = workspaces().filter(pk=object_id).first() if str(object_id).isdigit() else None
        if tenant is not None:
            context.update(self._detail_context(request, tenant), title=tenant.name, subtitle=None)
        return super().change_view(request, object_id, form_url, context)

    def _detail_context(self, request: HttpRequest, tenant: Tenant) -> dict[str, Any]:
        """Members (with two-factor status, last sign-in), subscription, recent audit entries (from this workspace's
        own schema: one workspace, one query), the operator log and impersonations for it."""
        with tenant_context(tenant):
            audit = [
                {"entry": e, "label": action_label(e.action)}
                for e in AuditEntry.objects.order_by("-created_at", "-id")[:RECENT_AUDIT]
            ]
        account = billing_selectors.account_for(tenant_id=tenant.pk)
        user = request.user
        can_impersonate = is_operator_with(user, impersonation.PERMISSION)
        return {
            "tenant": tenant,
            "metrics": WorkspaceMetrics.objects.filter(tenant=tenant).first(),
            "members": list(member_list(tenant_id=tenant.pk)[:MEMBERS_SHOWN]),
            "account": account,
            "account_plan": plans.plan_get(account.plan) if account else None,
            "account_mrr": billing_selectors.account_mrr_cents(account) if account else 0,
            "invoices": billing_selectors.invoice_list(account=account, limit=5) if account else [],
            "audit": audit,
            "operator_log": list(OperatorLogEntry.objects.filter(tenant_id=tenant.pk)[:20]),
            "impersonations": list(ImpersonationSession.objects.filter(tenant=tenant).select_related("member")[:10]),
            "can_change": is_operator_with(user, OperatorPermission.CHANGE),
            "can_delete": is_operator_with(user, OperatorPermission.DELETE),
            "can_impersonate": can_impersonate,
            "now": timezone.now(),
        }

    # --- actions: each with a reason, each through a service --------------------------------------------------------

    @admin.action(description=_("Suspend selected workspaces"), permissions=["change"])
    def suspend_selected(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> HttpResponse | None:
        return self._with_reason(
            request,
            queryset,
            title=_("Suspend workspaces"),
            button=_("Suspend"),
            done=ngettext_lazy("Suspended %(count)d workspace.", "Suspended %(count)d workspaces.", "count"),
            warning=_(
                "Every page of a suspended workspace answers with the suspension page until it is resumed. The "
                "reason is shown to its owners only (on that page), and recorded in the operator log and its audit log."
            ),
            change=lambda t, u, d: services.workspace_suspend(tenant=t, acting_user=u, reason=d["reason"]),
        )

    @admin.action(description=_("Resume selected workspaces"), permissions=["change"])
    def resume_selected(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> HttpResponse | None:
        return self._with_reason(
            request,
            queryset,
            title=_("Resume workspaces"),
            button=_("Resume"),
            done=ngettext_lazy("Resumed %(count)d workspace.", "Resumed %(count)d workspaces.", "count"),
            change=lambda t, u, d: services.workspace_resume(tenant=t, acting_user=u, reason=d["reason"]),
        )

    @admin.action(description=_("Extend the trial of selected workspaces"), permissions=["change"])
    def extend_trial(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> HttpResponse | None:
        return self._with_reason(
            request,
            queryset,
            form_class=TrialForm,
            title=_("Extend trials"),
            button=_("Extend trial"),
            done=ngettext_lazy(
                "Extended the trial of %(count)d workspace.", "Extended the trial of %(count)d workspaces.", "count"
            ),
            change=lambda t, u, d: operators.workspace_trial_extend(
                tenant=t, days=d["days"], acting_user=u, reason=d["reason"]
            ),
        )

    @admin.action(description=_("Change the plan of the selected workspace"), permissions=["change"])
    def change_plan(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> HttpResponse | None:
        return self._with_reason(
            request,
            queryset,
            form_class=PlanForm,
            title=_("Change the plan (prorated at Stripe; a trial stays a trial)"),
            button=_("Change plan"),
            single=True,
            done=ngettext_lazy(
                "Changed the plan of %(count)d workspace.", "Changed the plan of %(count)d workspaces.", "count"
            ),
            change=lambda t, u, d: operators.workspace_plan_set(
                tenant=t, plan_code=d["plan"], interval=d["interval"], acting_user=u, reason=d["reason"]
            ),
        )

    @admin.action(description=_("Export selected workspaces (archive to download)"), permissions=["change"])
    def export_selected(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> HttpResponse | None:
        def export(t: Tenant, u: User, d: dict[str, Any]) -> str:
            archive = services.workspace_export(tenant=t, acting_user=u, reason=d["reason"])
            url = reverse("admin:workspace_export_download", args=[archive.name])
            return format_html(
                '{}: <a href="{}">{}</a>', t.name, url, gettext("download %(archive)s") % {"archive": archive.name}
            )

        return self._with_reason(
            request,
            queryset,
            title=_("Export workspaces"),
            button=_("Export"),
            done=ngettext_lazy("Exported %(count)d workspace.", "Exported %(count)d workspaces.", "count"),
            warning=_("An export holds all of the workspace's data: its database schema, files and members."),
            change=export,
        )

    @admin.action(description=_("Schedule selected workspaces for deletion"), permissions=["schedule_deletion"])
    def schedule_deletion_selected(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> HttpResponse | None:
        return self._with_reason(
            request,
            queryset,
            title=_("Schedule workspaces for deletion"),
            button=_("Schedule deletion"),
            done=ngettext_lazy(
                "Scheduled %(count)d workspace for deletion.", "Scheduled %(count)d workspaces for deletion.", "count"
            ),
            warning=_(
                "Their pages answer 410 at once; everything is deleted after the grace period unless someone "
                "restores them (owners can, from the workspace; operators, with “Restore”). Their subscriptions "
                "are cancelled at Stripe at once, the period paid for not refunded; a restored workspace comes back "
                "without one."
            ),
            change=lambda t, u, d: services.workspace_schedule_deletion(tenant=t, acting_user=u, reason=d["reason"]),
        )

    @admin.action(
        description=_("Restore selected workspaces scheduled for deletion"), permissions=["schedule_deletion"]
    )
    def restore_selected(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> HttpResponse | None:
        return self._with_reason(
            request,
            queryset,
            title=_("Restore workspaces"),
            button=_("Restore"),
            done=ngettext_lazy("Restored %(count)d workspace.", "Restored %(count)d workspaces.", "count"),
            change=lambda t, u, d: services.workspace_restore(tenant=t, acting_user=u, reason=d["reason"]),
        )

    @admin.action(description=_("Rename the subdomain of the selected workspace"), permissions=["change"])
    def rename_subdomain(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> HttpResponse | None:
        return self._with_form(
            request,
            queryset,
            form_class=SubdomainForm,
            title=_("Rename the subdomain (the old one redirects for the grace period)"),
            button=_("Rename"),
            single=True,
            apply=lambda data: self._each(
                request,
                queryset,
                ngettext_lazy(
                    "Renamed the subdomain of %(count)d workspace.",
                    "Renamed the subdomain of %(count)d workspaces.",
                    "count",
                ),
                lambda t, u, d: services.workspace_rename_subdomain(tenant=t, new_slug=d["new_slug"], acting_user=u),
                **data,
            ),
        )

    @admin.action(description=_("Add a custom domain to the selected workspace"), permissions=["change"])
    def add_domain(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> HttpResponse | None:
        return self._with_form(
            request,
            queryset,
            form_class=DomainForm,
            title=_("Add a custom domain"),
            button=_("Add domain"),
            single=True,
            apply=lambda data: self._each(
                request,
                queryset,
                ngettext_lazy(
                    "Added a domain to %(count)d workspace.", "Added a domain to %(count)d workspaces.", "count"
                ),
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
