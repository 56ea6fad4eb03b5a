"""Settings → Single sign-on: the workspace's verified domains, its sign-in policy and its SCIM tokens (owners and
admins). Thin: parse the form, call shared_apps.identity's services, render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from shared_apps.accounts.decorators import action_required
from shared_apps.accounts.http import MemberRequest
from shared_apps.accounts.permissions import Action, NotAllowed
from shared_apps.identity import selectors
from shared_apps.identity.errors import IdentityError, NotFound
from shared_apps.identity.services import domains, policies, scim_tokens
from shared_apps.identity.services import sso as sso_services
from tenant_apps.workspace_settings.forms import OidcConnectionForm, ScimTokenForm, SignInPolicyForm, VerifiedDomainForm
from tenant_apps.workspace_settings.pages import forbidden, settings_context
from tenants.selectors import root_url

SECTION = "sso"


def _page(request: MemberRequest, *, status: int = 200, **forms: Any) -> HttpResponse:
    tenant_id = request.route.tenant_id
    policy = selectors.policy_for(tenant_id=tenant_id)
    rows = [
        {"domain": d, "record_name": domains.record_name(d), "record_value": domains.record_value(d)}
        for d in selectors.domain_list(tenant_id=tenant_id)
    ]
    connection = selectors.sso_connection_of(tenant_id=tenant_id)
    context = settings_context(
        request,
        SECTION,
        connection=connection,
        redirect_uri=f"{root_url()}/accounts/oidc/{connection.provider_id}/login/callback/" if connection else "",
        connection_form=forms.get("connection_form")
        or OidcConnectionForm(
            initial={"server_url": connection.server_url, "client_id": connection.client_id} if connection else None
        ),
        domains=rows,
        tokens=list(selectors.scim_token_list(tenant_id=tenant_id)),
        scim_url=request.build_absolute_uri("/scim/v2/"),
        domain_form=forms.get("domain_form") or VerifiedDomainForm(),
        policy_form=forms.get("policy_form")
        or SignInPolicyForm(
            initial={
                "require_sso": policy.require_sso,
                "require_two_factor": policy.require_two_factor,
                "session_lifetime_minutes": policy.session_lifetime_minutes,
                "jit_role": policy.jit_role,
            }
        ),
        token_form=forms.get("token_form") or ScimTokenForm(),
        new_token=forms.get("new_token"),
    )
    return render(request, "tenant/settings/sso.html", context, status=status)


@action_required(Action.IDENTITY_MANAGE)
def sso(request: MemberRequest) -> HttpResponse:
    return _page(request)


@action_required(Action.IDENTITY_MANAGE)
@require_POST
def domain_add(request: MemberRequest) -> HttpResponse:
    form = VerifiedDomainForm(request.POST)
    if form.is_valid():
        try:
            row = domains.domain_add(
                tenant=request.tenant, domain=form.cleaned_data["domain"], acting_user=request.user
            )
        except NotAllowed as exc:
            return forbidden(request, exc)
        except IdentityError as exc:
            form.add_error("domain", exc.message)
        else:
            messages.success(
                request,
                _("%(domain)s added: publish the TXT record below, then press “Check now”.") % {"domain": row.domain},
            )
            return redirect("settings_sso")
    return _page(request, status=400, domain_form=form)


@action_required(Action.IDENTITY_MANAGE)
@require_POST
def domain_check(request: MemberRequest, domain_id: int) -> HttpResponse:
    try:
        row = domains.domain_check(tenant=request.tenant, domain_id=domain_id, acting_user=request.user)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except NotAllowed as exc:
        return forbidden(request, exc)
    if row.is_verified:
        messages.success(request, _("%(domain)s is verified.") % {"domain": row.domain})
    else:
        messages.error(request, row.last_check_error or f"{row.domain} is not verified yet.")
    return redirect("settings_sso")


@action_required(Action.IDENTITY_MANAGE)
@require_POST
def domain_remove(request: MemberRequest, domain_id: int) -> HttpResponse:
    try:
        domains.domain_remove(tenant=request.tenant, domain_id=domain_id, acting_user=request.user)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except NotAllowed as exc:
        return forbidden(request, exc)
    messages.success(request, _("The domain was removed."))
    return redirect("settings_sso")


@action_required(Action.IDENTITY_MANAGE)
@require_POST
def policy(request: MemberRequest) -> HttpResponse:
    form = SignInPolicyForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            policies.policy_update(
                tenant=request.tenant,
                acting_user=request.user,
                require_sso=data["require_sso"],
                require_two_factor=data["require_two_factor"],
                session_lifetime_minutes=data["session_lifetime_minutes"],
                jit_role=data["jit_role"],
            )
        except NotAllowed as exc:
            return forbidden(request, exc)
        except IdentityError as exc:
            form.add_error(exc.field or None, exc.message)
        else:
            messages.success(request, _("The sign-in policy was saved."))
            return redirect("settings_sso")
    return _page(request, status=400, policy_form=form)


@action_required(Action.IDENTITY_MANAGE)
@require_POST
def scim_token_create(request: MemberRequest) -> HttpResponse:
    form = ScimTokenForm(request.POST)
    if form.is_valid():
        try:
            token, secret = scim_tokens.scim_token_create(
                tenant=request.tenant, name=form.cleaned_data["name"], acting_user=request.user
            )
        except NotAllowed as exc:
            return forbidden(request, exc)
        except IdentityError as exc:
            form.add_error(exc.field or None, exc.message)
        else:
            return _page(request, new_token={"token": token, "secret": secret})
    return _page(request, status=400, token_form=form)


@action_required(Action.IDENTITY_MANAGE)
@require_POST
def scim_token_revoke(request: MemberRequest, token_id: int) -> HttpResponse:
    try:
        token = scim_tokens.scim_token_revoke(tenant=request.tenant, token_id=token_id, acting_user=request.user)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except NotAllowed as exc:
        return forbidden(request, exc)
    except IdentityError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("The token “%(name)s” was revoked: the SCIM client's requests are refused.") % {"name": token.name},
        )
    return redirect("settings_sso")


@action_required(Action.IDENTITY_MANAGE)
@require_POST
def connection_save(request: MemberRequest) -> HttpResponse:
    form = OidcConnectionForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            sso_services.sso_connection_save(
                tenant=request.tenant,
                acting_user=request.user,
                server_url=data["server_url"],
                client_id=data["client_id"],
                client_secret=data["client_secret"],
            )
        except NotAllowed as exc:
            return forbidden(request, exc)
        except IdentityError as exc:
            form.add_error(exc.field or None, exc.message)
        else:
            messages.success(request, _("The identity provider is connected: register the redirect URI below with it."))
            return redirect("settings_sso")
    return _page(request, status=400, connection_form=form)


@action_required(Action.IDENTITY_MANAGE)
@require_POST
def connection_remove(request: MemberRequest) -> HttpResponse:
    try:
        sso_services.sso_connection_remove(tenant=request.tenant, acting_user=request.user)
    except NotAllowed as exc:
        return forbidden(request, exc)
    except IdentityError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The identity provider was removed: its sign-ins are refused from now on."))
    return redirect("settings_sso")
