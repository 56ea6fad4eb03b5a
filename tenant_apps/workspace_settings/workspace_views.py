"""An owner runs the workspace from its settings: rename it, move it to another subdomain, attach custom domains,
schedule its deletion. Thin: the workspaces services check the role again, validate, change and audit."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from billing import selectors as billing_selectors
from billing.entitlements import limit_for
from billing.formatting import size_text
from billing.models import SubscriptionStatus
from billing.plans import PLANS, Resource
from billing.services import LIVE_STATUSES
from shared_apps.accounts import selectors
from shared_apps.accounts.decorators import action_required
from shared_apps.accounts.http import AuthenticatedRequest, MemberRequest
from shared_apps.accounts.permissions import Action, NotAllowed, allowed_actions, can
from shared_apps.core.errors import ApplicationError
from shared_apps.storage import accounting as storage_accounting
from shared_apps.workspaces import services as workspaces
from tenant_apps.workspace_settings.forms import (
    DomainForm,
    DomainPickForm,
    SubdomainForm,
    WorkspaceDeleteForm,
    WorkspaceLanguageForm,
    WorkspaceNameForm,
)
from tenant_apps.workspace_settings.pages import forbidden, settings_context
from tenants import selectors as tenancy_selectors
from tenants.availability import subdomain_availability
from tenants.errors import SubdomainTaken, TenantError
from tenants.models import Tenant
from tenants.selectors import host_for_slug, tenant_url


def _slug(request: MemberRequest) -> str:
    return request.route.primary_host.split(".", 1)[0]


# --- the general page ---------------------------------------------------------------------------------------------


@action_required(Action.SETTINGS_VIEW)
def general(request: MemberRequest) -> HttpResponse:
    return general_render(request)


def general_render(request: MemberRequest, status: int = 200, **forms: object) -> HttpResponse:
    """The general page; owners also get the forms that run the workspace (`forms` carries the ones that failed)."""
    tenant = request.tenant
    host = request.route.primary_host
    if can(request.membership.role, Action.WORKSPACE_MANAGE):
        forms.setdefault("name_form", WorkspaceNameForm(initial={"name": tenant.name}))
        forms.setdefault("subdomain_form", SubdomainForm(initial={"subdomain": host.split(".", 1)[0]}))
        forms.setdefault("language_form", WorkspaceLanguageForm(initial={"language": request.route.language}))
    context = settings_context(
        request,
        "general",
        host=host,
        slug=host.split(".", 1)[0],
        seats_used=selectors.seats_used(tenant_id=tenant.pk),
        seat_limit=selectors.seat_limit(tenant_id=tenant.pk),
        host_suffix="." + settings.BASE_DOMAIN,
        redirect_days=settings.TENANT_RENAME_REDIRECT_DAYS,
        grace_days=settings.TENANT_DELETION_GRACE_DAYS,
        **_storage_usage(request),
        **forms,
    )
    return render(request, "tenant/settings/general.html", context, status=status)


def _storage_usage(request: MemberRequest) -> dict[str, object]:
    """The workspace's files as the accounting has them (exact: confirmed files and thumbnails, plus uploads in
    progress) against the plan's storage limit."""
    usage = storage_accounting.usage_of(request.route.schema_name)
    limit, plan_name = limit_for(request.route.tenant_id, Resource.STORAGE_BYTES)
    used = usage.used_bytes if usage else 0
    return {
        "storage_used": size_text(used),
        "storage_files": usage.object_count if usage else 0,
        "storage_reserved": size_text(usage.reserved_bytes) if usage and usage.reserved_bytes else "",
        "storage_limit": size_text(limit.value) if limit.value is not None else "",
        "storage_plan": plan_name,
        "storage_percent": min(100, round(100 * used / limit.value)) if limit.value else 0,
    }


@action_required(Action.WORKSPACE_MANAGE)
@require_POST
def rename(request: MemberRequest) -> HttpResponse:
    form = WorkspaceNameForm(request.POST)
    if form.is_valid():
        try:
            tenant = workspaces.workspace_rename(
                tenant=request.tenant, name=form.cleaned_data["name"], acting_user=request.user
            )
        except NotAllowed as exc:
            return forbidden(request, exc)
        except TenantError as exc:
            form.add_error("name", exc.message)
        else:
            messages.success(request, _("The workspace is now called %(name)s.") % {"name": tenant.name})
            return redirect("settings_general")
    return general_render(request, status=400, name_form=form)


@action_required(Action.WORKSPACE_MANAGE)
@require_POST
def language(request: MemberRequest) -> HttpResponse:
    """The workspace's default language."""
    form = WorkspaceLanguageForm(request.POST)
    if form.is_valid():
        try:
            workspaces.workspace_language_set(
                tenant=request.tenant, language=form.cleaned_data["language"], acting_user=request.user
            )
        except NotAllowed as exc:
            return forbidden(request, exc)
        except TenantError as exc:
            form.add_error("language", exc.message)
        else:
            messages.success(request, _("The workspace's default language was saved."))
            return redirect("settings_general")
    return general_render(request, status=400, language_form=form)


@action_required(Action.WORKSPACE_MANAGE)
@require_POST
def subdomain(request: MemberRequest) -> HttpResponse:
    form = SubdomainForm(request.POST)
    suggestions: list[str] = []
    if form.is_valid():
        wanted = form.cleaned_data["subdomain"]
        if request.POST.get("confirmed") != "1" and (free := subdomain_availability(value=wanted)).available:
            return _subdomain_confirm(request, new_slug=free.slug)
        try:
            domain = workspaces.workspace_rename_subdomain(
                tenant=request.tenant, new_slug=wanted, acting_user=request.user
            )
        except NotAllowed as exc:
            return forbidden(request, exc)
        except TenantError as exc:
            form.add_error("subdomain", exc.message)
            if isinstance(exc, SubdomainTaken):
                suggestions = subdomain_availability(value=wanted).suggestions
        else:
            # This host now only redirects, and sessions are per host: say where the workspace went and let the
            # person sign in there.
            context = {
                "old_host": request.route.primary_host,
                "new_url": tenant_url(domain.domain),
                "new_host": domain.domain,
                "redirect_days": settings.TENANT_RENAME_REDIRECT_DAYS,
                "host_retired": True,
            }
            return render(request, "tenant/settings/moved.html", context)
    return general_render(request, status=400, subdomain_form=form, subdomain_suggestions=suggestions)


def _subdomain_confirm(request: MemberRequest, *, new_slug: str) -> HttpResponse:
    """Moving signs everyone out: the owner says so once more, with both addresses in front of them. (A name that is
    taken or invalid goes straight to the service, which refuses it next to the field.)"""
    context = settings_context(
        request,
        "general",
        old_host=request.route.primary_host,
        new_host=host_for_slug(new_slug),
        new_slug=new_slug,
        redirect_days=settings.TENANT_RENAME_REDIRECT_DAYS,
    )
    return render(request, "tenant/settings/subdomain_confirm.html", context)


# --- custom domains ----------------------------------------------------------------------------------------------


def _domains_page(request: MemberRequest, form: DomainForm, status: int = 200) -> HttpResponse:
    rows = tenancy_selectors.domain_list(tenant_id=request.route.tenant_id)
    context = {
        "section": "domains",
        "allowed": {str(a) for a in allowed_actions(request.membership.role)},
        "form": form,
        "custom_domains": [d for d in rows if not d.is_primary and not d.redirect_until],
        "redirects": [d for d in rows if d.redirect_until],
        "host": request.route.primary_host,
    }
    return render(request, "tenant/settings/domains.html", context, status=status)


@action_required(Action.DOMAINS_MANAGE)
@require_http_methods(["GET", "POST"])
def domains(request: MemberRequest) -> HttpResponse:
    if request.method != "POST":
        return _domains_page(request, DomainForm())
    form = DomainForm(request.POST)
    if form.is_valid():
        try:
            added = workspaces.workspace_domain_add(
                tenant=request.tenant, domain=form.cleaned_data["domain"], acting_user=request.user
            )
        except NotAllowed as exc:
            return forbidden(request, exc)
        except TenantError as exc:
            form.add_error("domain", exc.message)
        else:
            messages.success(
                request,
                _("%(domain)s added. Point it at %(primary_host)s (below).")
                % {"domain": added.domain, "primary_host": request.route.primary_host},
            )
            return redirect("settings_domains")
    return _domains_page(request, form, status=400)


@action_required(Action.DOMAINS_MANAGE)
@require_POST
def domain_remove(request: MemberRequest) -> HttpResponse:
    host = _domain_picked(request)
    if host is None:
        return redirect("settings_domains")
    try:
        workspaces.workspace_domain_remove(tenant=request.tenant, domain=host, acting_user=request.user)
    except NotAllowed as exc:
        return forbidden(request, exc)
    except TenantError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("%(host)s no longer leads to this workspace.") % {"host": host})
    return redirect("settings_domains")


@action_required(Action.DOMAINS_MANAGE)
@require_POST
def domain_check(request: MemberRequest) -> HttpResponse:
    """Whether a custom domain's DNS already leads to this platform (its addresses are those of the subdomain)."""
    host = _domain_picked(request)
    if host is None:
        return redirect("settings_domains")
    rows = {d.domain for d in tenancy_selectors.domain_list(tenant_id=request.route.tenant_id)}
    if host not in rows:
        messages.error(request, _("%(host)s is not a domain of this workspace.") % {"host": host})
    elif tenancy_selectors.domain_points_at(host=host, target=request.route.primary_host):
        messages.success(request, _("%(host)s points here: it opens this workspace.") % {"host": host})
    else:
        messages.error(
            request,
            _("%(host)s does not point here yet. Add the CNAME record below; DNS changes can take an hour to spread.")
            % {"host": host},
        )
    return redirect("settings_domains")


def _domain_picked(request: MemberRequest) -> str | None:
    """The domain a button of the domains page names, or None with the refusal said on the page."""
    form = DomainPickForm(request.POST)
    if form.is_valid():
        return str(form.cleaned_data["domain"])
    messages.error(
        request, " ".join(str(e) for e in form.errors.get("domain", [_("Choose one of the domains below.")]))
    )
    return None


# --- deletion ----------------------------------------------------------------------------------------------------


@action_required(Action.WORKSPACE_DELETE)
@require_http_methods(["GET", "POST"])
def delete(request: MemberRequest) -> HttpResponse:
    slug = _slug(request)
    form = WorkspaceDeleteForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        if form.cleaned_data["confirm"].strip().lower() != slug:
            form.add_error("confirm", _("Type %(slug)s exactly, to show you mean this workspace.") % {"slug": slug})
        else:
            try:
                workspaces.workspace_schedule_deletion(
                    tenant=request.tenant, acting_user=request.user, reason="deleted by an owner"
                )
            except NotAllowed as exc:
                return forbidden(request, exc)
            except ApplicationError as exc:  # a status that cannot be deleted, or Stripe not answering
                form.add_error(None, exc.message)
            else:
                return redirect("/")  # the workspace now answers with its "scheduled for deletion" page
    context = {
        "section": "general",
        "allowed": {str(a) for a in allowed_actions(request.membership.role)},
        "form": form,
        "slug": slug,
        "grace_days": settings.TENANT_DELETION_GRACE_DAYS,
        "restorable_until": timezone.now() + timedelta(days=settings.TENANT_DELETION_GRACE_DAYS),
        **_subscription_ending(request),
    }
    return render(request, "tenant/settings/delete.html", context, status=400 if form.errors else 200)


def _subscription_ending(request: MemberRequest) -> dict[str, object]:
    """What the deletion does to the workspace's subscription, for the page to say it: a live one is cancelled at
    once (a trial ends; a paid period is not refunded)."""
    account = billing_selectors.account_for(tenant_id=request.route.tenant_id)
    if account is None or not account.stripe_subscription_id or account.status not in LIVE_STATUSES:
        return {}
    plan = PLANS.get(account.plan)
    trial = account.status == SubscriptionStatus.TRIALING
    return {
        "ending_plan": plan.name if plan else account.plan,
        "ending_trial": trial,
        # a period actually paid for (past due or unpaid: its open invoice simply stops being collected)
        "paid_until": account.current_period_end if account.status == SubscriptionStatus.ACTIVE else None,
    }


@login_required
@require_POST
def restore(request: AuthenticatedRequest) -> HttpResponse:
    """An owner cancels the workspace's scheduled deletion (the button on the 410 page)."""
    tenant = Tenant.objects.get(pk=request.route.tenant_id)
    try:
        tenant = workspaces.workspace_restore(tenant=tenant, acting_user=request.user)
    except ApplicationError as exc:
        return render(request, "errors/scheduled_deletion.html", {"error": exc.message}, status=403)
    messages.success(request, _("%(name)s is restored. Nothing was deleted.") % {"name": tenant.name})
    return redirect("home")
