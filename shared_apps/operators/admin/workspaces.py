"""The operators' admin for workspaces and people (root domain only; tenant hosts have no /admin/).

Nothing here writes a row directly: every change is an admin action that declares the Django permission it needs,
asks for a reason, and calls the workspace services (`services`, `operators`, `impersonation`), which check the
operator's permission again, apply the rules, and record the change in the operator log and in the workspace's own
audit log. Lists read the metrics table (`WorkspaceMetrics`, filled by the metrics refresh), never the workspaces'
schemas: the same number of queries for 2 workspaces as for 2,000.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, ClassVar

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django_tenants.utils import tenant_context

from billing import plans
from billing import selectors as billing_selectors
from billing.plans import Interval, human_bytes
from billing.services import TRIAL_EXTENSION_MAX_DAYS
from shared_apps.accounts.models import Membership, Role, User
from shared_apps.accounts.selectors import member_list
from shared_apps.core.errors import ApplicationError
from shared_apps.core.text import has_control_characters, without_nul
from shared_apps.operators.admin.people import UserAdmin
from shared_apps.operators.admin.readonly import ReadOnlyModelAdmin, ReadOnlyTabularInline
from shared_apps.workspaces import impersonation, operators, services
from shared_apps.workspaces.models import ImpersonationSession, OperatorLogEntry, WorkspaceMetrics
from shared_apps.workspaces.services import REASON_MAX, OperatorPermission, is_operator_with
from tenant_apps.audit.actions import action_label
from tenant_apps.audit.models import AuditEntry
from tenants.models import Domain, Tenant, TenantEvent
from tenants.selectors import workspaces
from tenants.validators import validate_custom_domain, validate_subdomain

RECENT_AUDIT = 20
MEMBERS_SHOWN = 100


class DomainInline(ReadOnlyTabularInline[Domain, Tenant]):
    model = Domain
    fields = ("domain", "is_primary", "redirect_until", "created_at")


# ---------------------------------------------------------------------------------------------------------------------
# Forms: every operator action asks for a reason
# ---------------------------------------------------------------------------------------------------------------------


class ReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=REASON_MAX,
        required=True,
        strip=True,
        help_text="Required. Recorded in the operator log and in the workspace's audit log.",
        widget=forms.TextInput(attrs={"size": 60, "autocomplete": "off"}),
    )

    def clean_reason(self) -> str:
        reason = str(self.cleaned_data["reason"])
        if has_control_characters(reason):
            raise forms.ValidationError("The reason cannot contain line breaks or control characters.")
        return reason


class TrialForm(ReasonForm):
    days = forms.IntegerField(label="Extend by (days)", min_value=1, max_value=TRIAL_EXTENSION_MAX_DAYS, initial=7)
    field_order = ["days", "reason"]


class PlanForm(ReasonForm):
    plan = forms.ChoiceField(label="Plan")
    interval = forms.ChoiceField(label="Billing", choices=[(Interval.MONTH, "Monthly"), (Interval.YEAR, "Yearly")])
    field_order = ["plan", "interval", "reason"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["plan"]
        assert isinstance(field, forms.ChoiceField)  # noqa: S101
        field.choices = [(p.code, p.name) for p in billing_selectors.plan_choices()]


class EmailChangeForm(ReasonForm):
    """Checked again by the service (format, control characters, no other account has it)."""

    email = forms.CharField(label="New email address", max_length=254, widget=forms.EmailInput(attrs={"size": 40}))
    field_order = ["email", "reason"]


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


Change = Callable[[Any, User, dict[str, Any]], object]


class OperatorActions:
    """Admin actions that ask for input on an intermediate page, then run a service once per selected row, report
    each refusal, and go back where they came from (the list, or a workspace's own page)."""

    admin_site: admin.AdminSite
    model: Any
    nouns: tuple[str, str] = ("", "")  # what one and several rows are called in messages (the model's names if unset)
    message_user: Callable[..., None]  # ModelAdmin's

    def _each(self, request: HttpRequest, queryset: QuerySet[Any], verb: str, change: Change, **data: Any) -> int:
        done = 0
        operator = request.user
        if not isinstance(operator, User):
            return 0
        for obj in queryset:
            try:
                outcome = change(obj, operator, data)
                done += 1
                if isinstance(outcome, str) and outcome:
                    self.message_user(request, outcome, messages.INFO)
            except ApplicationError as exc:
                self.message_user(request, exc.message, messages.WARNING)
        if done:
            one, many = (
                self.nouns if self.nouns[0] else (self.model._meta.verbose_name, self.model._meta.verbose_name_plural)
            )
            self.message_user(request, f"{verb} {done} {one if done == 1 else many}.", messages.SUCCESS)
        return done

    def _with_form(
        self,
        request: HttpRequest,
        queryset: QuerySet[Any],
        *,
        form_class: type[forms.Form],
        title: str,
        button: str,
        apply: Callable[[dict[str, Any]], object],
        single: bool = False,
        warning: str = "",
    ) -> HttpResponse | None:
        """An action that asks for input first: the form on an intermediate page, then `apply(cleaned_data)`."""
        if single and queryset.count() != 1:
            self.message_user(request, "Select exactly one for this action.", messages.WARNING)
            return None
        form = form_class(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            apply(form.cleaned_data)
            return self._back(request, queryset)
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "button": button,
            "warning": warning,
            "form": form,
            "objects": list(queryset),
            "action": request.POST.get("action", ""),
            "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            "from_detail": request.POST.get("_from_detail", ""),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/workspaces/action_form.html", context)

    def _back(self, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponse | None:
        if request.POST.get("_from_detail"):
            pk = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)[:1]
            if pk and pk[0].isdigit():
                opts = self.model._meta
                return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[pk[0]]))
        return None

    def _with_reason(
        self,
        request: HttpRequest,
        queryset: QuerySet[Any],
        *,
        title: str,
        button: str,
        verb: str,
        change: Change,
        warning: str = "",
        form_class: type[forms.Form] = ReasonForm,
        single: bool = False,
    ) -> HttpResponse | None:
        """An action that asks for a reason (and whatever else `form_class` asks), then runs `change` on each row with
        the form's cleaned data."""
        return self._with_form(
            request,
            queryset,
            form_class=form_class,
            title=title,
            button=button,
            warning=warning,
            single=single,
            apply=lambda data: self._each(request, queryset, verb, change, **data),
        )


# ---------------------------------------------------------------------------------------------------------------------
# Workspaces
# ---------------------------------------------------------------------------------------------------------------------


class PlanFilter(admin.SimpleListFilter):
    title = "plan"
    parameter_name = "plan"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(p.code, p.name) for p in billing_selectors.plan_choices()] + [("none", "No plan")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value == "none":
            return queryset.filter(Q(metrics__isnull=True) | Q(metrics__plan=""))
        if value:
            return queryset.filter(metrics__plan=value)
        return queryset


class ActivityFilter(admin.SimpleListFilter):
    title = "last activity"
    parameter_name = "activity"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("7", "In the last 7 days"), ("30", "In the last 30 days"), ("dormant", "Not in 30 days or never")]

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
    search_help_text = "Name, domain or owner's email"
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
    nouns = ("workspace", "workspaces")
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
        return workspaces().select_related("metrics").annotate(primary_host=Subquery(host), owner_email=Subquery(owner))

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

    @admin.display(description="Host", ordering="primary_host")
    def host(self, obj: Tenant) -> str:
        return str(getattr(obj, "primary_host", None) or "—")

    @admin.display(description="Plan", ordering="metrics__plan")
    def plan(self, obj: Tenant) -> str:
        m = _metrics(obj)
        if m is None or not m.plan:
            return "—"
        plan = plans.plan_get(m.plan)
        name = plan.name if plan else m.plan
        return f"{name} (trial)" if m.subscription_status == "trialing" else name

    @admin.display(description="Members", ordering="metrics__members")
    def members(self, obj: Tenant) -> str:
        m = _metrics(obj)
        return str(m.members) if m else "—"

    @admin.display(description="Storage", ordering="metrics__database_bytes")
    def storage(self, obj: Tenant) -> str:
        m = _metrics(obj)
        if m is None:
            return "—"
        files = human_bytes(m.storage_bytes) if m.storage_bytes is not None else "files not reported"
        return f"{human_bytes(m.database_bytes)} db · {files}"

    @admin.display(description="MRR", ordering="metrics__mrr_cents")
    def mrr(self, obj: Tenant) -> str:
        m = _metrics(obj)
        return f"${m.mrr_cents / 100:,.0f}" if m else "—"

    @admin.display(description="Last activity", ordering="metrics__last_activity_at")
    def last_activity(self, obj: Tenant) -> str:
        m = _metrics(obj)
        if m is None:
            return "not refreshed yet"
        if m.last_activity_at is None:
            return "never"
        return f"{m.last_activity_at:%Y-%m-%d %H:%M}"

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return super().changelist_view(request, {"title": "Workspaces", **(extra_context or {})})

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

    @admin.action(description="Suspend selected workspaces", permissions=["change"])
    def suspend_selected(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> HttpResponse | None:
        return self._with_reason(
            request,
            queryset,
            title="Suspend workspaces",
            button="Suspend",
            verb="Suspended",
            warning="Every page of a suspended workspace answers with the suspension page until it is resumed. The "
            "reason is shown to its owners only (on that page), and recorded in the operator log and its audit log.",
            change=lambda t, u, d: services.workspace_suspend(tenant=t, acting_user=u, reason=d["reason"]),
        )

    @admin.action(description="Resume selected workspaces", permissions=["change"])
    def resume_selected(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> HttpResponse | None:
        return self._with_reason(
            request,
            queryset,
            title="Resume workspaces",
            button="Resume",
            verb="Resumed",
            change=lambda t, u, d: services.workspace_resume(tenant=t, acting_user=u, reason=d["reason"]),
        )

    @admin.action(description="Extend the trial of selected workspaces", permissions=["change"])
    def extend_trial(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> HttpResponse | None:
        return self._with_reason(
            request,
            queryset,
            form_class=TrialForm,
            title="Extend trials",
            button="Extend trial",
            verb="Extended the trial of",
            change=lambda t, u, d: operators.workspace_trial_extend(
                tenant=t, days=d["days"], acting_user=u, reason=d["reason"]
            ),
        )

    @admin.action(description="Change the plan of the selected workspace", permissions=["change"])
    def change_plan(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> HttpResponse | None:
        return self._with_reason(
            request,
            queryset,
            form_class=PlanForm,
            title="Change the plan (prorated at Stripe; a trial stays a trial)",
            button="Change plan",
            single=True,
            verb="Changed the plan of",
            change=lambda t, u, d: operators.workspace_plan_set(
                tenant=t, plan_code=d["plan"], interval=d["interval"], acting_user=u, reason=d["reason"]
            ),
        )

    @admin.action(description="Export selected workspaces (archive to download)", permissions=["change"])
    def export_selected(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> HttpResponse | None:
        def export(t: Tenant, u: User, d: dict[str, Any]) -> str:
            archive = services.workspace_export(tenant=t, acting_user=u, reason=d["reason"])
            url = reverse("admin:workspace_export_download", args=[archive.name])
            return format_html('{}: <a href="{}">download {}</a>', t.name, url, archive.name)

        return self._with_reason(
            request,
            queryset,
            title="Export workspaces",
            button="Export",
            verb="Exported",
            warning="An export holds all of the workspace's data: its database schema, files and members.",
            change=export,
        )

    @admin.action(description="Schedule selected workspaces for deletion", permissions=["schedule_deletion"])
    def schedule_deletion_selected(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> HttpResponse | None:
        return self._with_reason(
            request,
            queryset,
            title="Schedule workspaces for deletion",
            button="Schedule deletion",
            verb="Scheduled for deletion",
            warning=(
                "Their pages answer 410 at once; everything is deleted after the grace period unless someone "
                "restores them (owners can, from the workspace; operators, with “Restore”)."
            ),
            change=lambda t, u, d: services.workspace_schedule_deletion(tenant=t, acting_user=u, reason=d["reason"]),
        )

    @admin.action(description="Restore selected workspaces scheduled for deletion", permissions=["schedule_deletion"])
    def restore_selected(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> HttpResponse | None:
        return self._with_reason(
            request,
            queryset,
            title="Restore workspaces",
            button="Restore",
            verb="Restored",
            change=lambda t, u, d: services.workspace_restore(tenant=t, acting_user=u, reason=d["reason"]),
        )

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


# ---------------------------------------------------------------------------------------------------------------------
# People: accounts across workspaces
# ---------------------------------------------------------------------------------------------------------------------


class MfaFilter(admin.SimpleListFilter):
    title = "two-factor"
    parameter_name = "mfa"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "On"), ("no", "Off")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(mfa_enabled=True)
        if self.value() == "no":
            return queryset.filter(mfa_enabled=False)
        return queryset


class VerifiedFilter(admin.SimpleListFilter):
    title = "email verified"
    parameter_name = "verified"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Verified"), ("no", "Not verified")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(email_verified=True)
        if self.value() == "no":
            return queryset.filter(email_verified=False)
        return queryset


@admin.register(User)
class OperatorUserAdmin(OperatorActions, UserAdmin):
    """Accounts across every workspace: their memberships, two-factor status, last sign-in; and what operators may do
    to them, each with a reason, through `operators`. (Platform rights follow accounts' UserAdmin rules.)"""

    list_display: tuple[str, ...] = (  # type: ignore[assignment]
        "email",
        "name",
        "workspaces",
        "mfa",
        "verified",
        "is_active",
        "is_staff",
        "last_sign_in",
        "date_joined",
    )
    list_filter = ("is_active", "is_staff", MfaFilter, VerifiedFilter, "date_joined")  # type: ignore[assignment]
    search_fields = ("email", "name")
    search_help_text = "Email, name, or a workspace's name or domain"
    actions = (
        "deactivate_selected",
        "reactivate_selected",
        "sign_out_selected",
        "resend_verification",
        "password_reset_send",
        "email_change",
    )
    nouns = ("account", "accounts")

    def has_superuser_permission(self, request: HttpRequest) -> bool:
        return bool(getattr(request.user, "is_superuser", False))

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        mfa = Authenticator.objects.filter(
            user_id=OuterRef("pk"), type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
        )
        verified = EmailAddress.objects.filter(user_id=OuterRef("pk"), verified=True)
        return (
            User.objects.all()
            .annotate(workspace_count=Count("memberships"), mfa_enabled=Exists(mfa), email_verified=Exists(verified))
            .order_by("-date_joined")
        )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[User], search_term: str
    ) -> tuple[QuerySet[User], bool]:
        term = without_nul(search_term).strip()[:254]
        if not term:
            return queryset, False
        in_workspace = Membership.objects.filter(user_id=OuterRef("pk")).filter(
            Q(tenant__name__icontains=term) | Q(tenant__domains__domain__icontains=term)
        )
        return queryset.filter(Q(email__icontains=term) | Q(name__icontains=term) | Exists(in_workspace)), False

    @admin.display(description="Two-factor", boolean=True, ordering="mfa_enabled")
    def mfa(self, obj: User) -> bool:
        return bool(getattr(obj, "mfa_enabled", False))

    @admin.display(description="Verified", boolean=True, ordering="email_verified")
    def verified(self, obj: User) -> bool:
        return bool(getattr(obj, "email_verified", False))

    @admin.display(description="Last sign-in", ordering="last_login")
    def last_sign_in(self, obj: User) -> str:
        return f"{obj.last_login:%Y-%m-%d %H:%M}" if obj.last_login else "never"

    @admin.action(description="Deactivate selected accounts (and sign them out)", permissions=["change"])
    def deactivate_selected(self, request: HttpRequest, queryset: QuerySet[User]) -> HttpResponse | None:
        return self._with_reason(
            request,
            queryset,
            title="Deactivate accounts",
            button="Deactivate",
            verb="Deactivated",
            warning="They are signed out everywhere at once and cannot sign in until reactivated.",
            change=lambda u, op, d: operators.user_deactivate(user=u, acting_user=op, reason=d["reason"]),
        )

    @admin.action(description="Reactivate selected accounts", permissions=["change"])
    def reactivate_selected(self, request: HttpRequest, queryset: QuerySet[User]) -> HttpResponse | None:
        return self._with_reason(
            request,
            queryset,
            title="Reactivate accounts",
            button="Reactivate",
            verb="Reactivated",
            change=lambda u, op, d: operators.user_reactivate(user=u, acting_user=op, reason=d["reason"]),
        )

    @admin.action(description="Sign selected accounts out everywhere", permissions=["change"])
    def sign_out_selected(self, request: HttpRequest, queryset: QuerySet[User]) -> HttpResponse | None:
        return self._with_reason(
            request,
            queryset,
            title="Sign accounts out everywhere",
            button="Sign out everywhere",
            verb="Signed out",
            change=lambda u, op, d: operators.user_sign_out_everywhere(user=u, acting_user=op, reason=d["reason"]),
        )

    @admin.action(description="Resend the email verification", permissions=["change"])
    def resend_verification(self, request: HttpRequest, queryset: QuerySet[User]) -> HttpResponse | None:
        return self._with_reason(
            request,
            queryset,
            title="Resend the email verification",
            button="Send the verification email",
            verb="Sent a verification email to",
            change=lambda u, op, d: operators.user_verification_resend(user=u, acting_user=op, reason=d["reason"]),
        )

    @admin.action(description="Send a password reset email", permissions=["change"])
    def password_reset_send(self, request: HttpRequest, queryset: QuerySet[User]) -> HttpResponse | None:
        return self._with_reason(
            request,
            queryset,
            title="Send a password reset email",
            button="Send the password reset email",
            verb="Sent a password reset email to",
            warning="The person chooses a new password from the link; nobody at Atrium sees it.",
            change=lambda u, op, d: operators.user_password_reset_send(user=u, acting_user=op, reason=d["reason"]),
        )

    @admin.action(description="Change the email address (superusers)", permissions=["superuser"])
    def email_change(self, request: HttpRequest, queryset: QuerySet[User]) -> HttpResponse | None:
        return self._with_reason(
            request,
            queryset,
            form_class=EmailChangeForm,
            title="Change the email address",
            button="Change the email address",
            single=True,
            verb="Changed the email address of",
            warning="The new address must be verified before the account can sign in; the old address is told.",
            change=lambda u, op, d: operators.user_email_change(
                user=u, email=d["email"], acting_user=op, reason=d["reason"]
            ),
        )


# ---------------------------------------------------------------------------------------------------------------------
# The operator log and impersonations: read-only records
# ---------------------------------------------------------------------------------------------------------------------


@admin.register(OperatorLogEntry)
class OperatorLogEntryAdmin(ReadOnlyModelAdmin):
    list_display = ("created_at", "operator_label", "action", "tenant_name", "target_label", "reason")
    list_filter = ("action", "created_at")
    search_fields = ("operator_label", "tenant_name", "target_label", "reason")
    date_hierarchy = "created_at"
    readonly_fields = (
        "created_at",
        "operator",
        "operator_label",
        "action",
        "tenant_id",
        "tenant_name",
        "target_user",
        "target_label",
        "reason",
        "metadata",
        "ip_address",
        "user_agent",
    )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        return super().get_search_results(request, queryset, without_nul(search_term)[:254])


class LiveFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("live", "Running"), ("ended", "Ended")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        now = timezone.now()
        if self.value() == "live":
            return queryset.filter(ended_at__isnull=True, expires_at__gt=now, started_at__isnull=False)
        if self.value() == "ended":
            return queryset.filter(Q(ended_at__isnull=False) | Q(expires_at__lte=now))
        return queryset


@admin.register(ImpersonationSession)
class ImpersonationSessionAdmin(ReadOnlyModelAdmin):
    list_display = (
        "created_at",
        "operator_label",
        "member",
        "tenant",
        "reason",
        "started_at",
        "writes_enabled_at",
        "ended_at",
        "end_reason",
    )
    list_filter = (LiveFilter, "end_reason", "created_at")
    list_select_related = ("member", "tenant")
    search_fields = ("operator_label", "member__email", "tenant__name", "reason")
    readonly_fields = (
        "id",
        "operator",
        "operator_label",
        "member",
        "tenant",
        "reason",
        "created_at",
        "started_at",
        "expires_at",
        "writes_enabled_at",
        "writes_reason",
        "ended_at",
        "end_reason",
    )
    actions = ("end_selected",)

    def has_impersonate_permission(self, request: HttpRequest) -> bool:
        return is_operator_with(request.user, impersonation.PERMISSION)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        return super().get_search_results(request, queryset, without_nul(search_term)[:254])

    @admin.action(description="End selected impersonations now", permissions=["impersonate"])
    def end_selected(self, request: HttpRequest, queryset: QuerySet[ImpersonationSession]) -> None:
        ended = 0
        operator = request.user
        assert isinstance(operator, User)  # noqa: S101
        for session in queryset.filter(ended_at__isnull=True):
            try:
                impersonation.impersonation_revoke(operator=operator, session_id=str(session.pk))
                ended += 1
            except ApplicationError as exc:
                self.message_user(request, exc.message, messages.WARNING)
        self.message_user(request, f"Ended {ended} impersonation(s).", messages.SUCCESS)
