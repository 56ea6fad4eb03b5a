"""An owner runs the workspace from its settings: rename it, move it to another subdomain, attach custom domains,
schedule its deletion. Thin: the workspaces services check the role again, validate, change and audit."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from shared_apps.accounts.decorators import action_required
from shared_apps.accounts.http import MemberRequest
from shared_apps.accounts.permissions import Action, NotAllowed, allowed_actions
from shared_apps.workspaces import services as workspaces
from tenant_apps.workspace_settings.forms import (
    DomainForm,
    DomainPickForm,
    SubdomainForm,
    WorkspaceDeleteForm,
    WorkspaceNameForm,
)
from tenant_apps.workspace_settings.views import general_render
from tenants import selectors as tenancy_selectors
from tenants.availability import subdomain_availability
from tenants.errors import SubdomainTaken, TenantError
from tenants.selectors import tenant_url


def _forbidden(request: MemberRequest, exc: NotAllowed) -> HttpResponse:
    return render(request, "tenant/settings/forbidden.html", {"reason": exc.message}, status=403)


def _slug(request: MemberRequest) -> str:
    return request.route.primary_host.split(".", 1)[0]


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
            return _forbidden(request, exc)
        except TenantError as exc:
            form.add_error("name", exc.message)
        else:
            messages.success(request, f"The workspace is now called {tenant.name}.")
            return redirect("settings_general")
    return general_render(request, status=400, name_form=form)


@action_required(Action.WORKSPACE_MANAGE)
@require_POST
def subdomain(request: MemberRequest) -> HttpResponse:
    form = SubdomainForm(request.POST)
    suggestions: list[str] = []
    if form.is_valid():
        wanted = form.cleaned_data["subdomain"]
        try:
            domain = workspaces.workspace_rename_subdomain(
                tenant=request.tenant, new_slug=wanted, acting_user=request.user
            )
        except NotAllowed as exc:
            return _forbidden(request, exc)
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
            }
            return render(request, "tenant/settings/moved.html", context)
    return general_render(request, status=400, subdomain_form=form, subdomain_suggestions=suggestions)


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
            return _forbidden(request, exc)
        except TenantError as exc:
            form.add_error("domain", exc.message)
        else:
            messages.success(request, f"{added.domain} added. Point it at {request.route.primary_host} (below).")
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
        return _forbidden(request, exc)
    except TenantError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{host} no longer leads to this workspace.")
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
        messages.error(request, f"{host} is not a domain of this workspace.")
    elif tenancy_selectors.domain_points_at(host=host, target=request.route.primary_host):
        messages.success(request, f"{host} points here: it opens this workspace.")
    else:
        messages.error(
            request,
            f"{host} does not point here yet. Add the CNAME record below; DNS changes can take an hour to spread.",
        )
    return redirect("settings_domains")


def _domain_picked(request: MemberRequest) -> str | None:
    """The domain a button of the domains page names, or None with the refusal said on the page."""
    form = DomainPickForm(request.POST)
    if form.is_valid():
        return str(form.cleaned_data["domain"])
    messages.error(request, " ".join(str(e) for e in form.errors.get("domain", ["Choose one of the domains below."])))
    return None


# --- deletion ----------------------------------------------------------------------------------------------------


@action_required(Action.WORKSPACE_DELETE)
@require_http_methods(["GET", "POST"])
def delete(request: MemberRequest) -> HttpResponse:
    slug = _slug(request)
    form = WorkspaceDeleteForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        if form.cleaned_data["confirm"].strip().lower() != slug:
            form.add_error("confirm", f"Type {slug} exactly, to show you mean this workspace.")
        else:
            try:
                workspaces.workspace_schedule_deletion(
                    tenant=request.tenant, acting_user=request.user, reason="deleted by an owner"
                )
            except NotAllowed as exc:
                return _forbidden(request, exc)
            except TenantError as exc:
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
    }
    return render(request, "tenant/settings/delete.html", context, status=400 if form.errors else 200)
