"""Settings → Single sign-on: the workspace's verified domains, its sign-in policy and its SCIM tokens (owners and
admins). Thin: parse the form, call shared_apps.identity's services, render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from shared_apps.accounts.decorators import action_required
from shared_apps.accounts.http import MemberRequest
from shared_apps.accounts.permissions import Action, NotAllowed
from shared_apps.identity import saml, selectors
from shared_apps.identity.errors import IdentityError, NotFound
from shared_apps.identity.models import SsoConnection
from shared_apps.identity.services import domains, policies, scim_tokens
from shared_apps.identity.services import saml as saml_services
from shared_apps.identity.services import sso as sso_services
from shared_apps.identity.sso_test import test_ticket_make
from tenant_apps.workspace_settings.forms import (
    OidcConnectionForm,
    SamlCertificateForm,
    SamlConnectionForm,
    ScimTokenForm,
    SignInPolicyForm,
    VerifiedDomainForm,
)
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
    is_saml = connection is not None and connection.protocol == SsoConnection.Protocol.SAML
    context = settings_context(
        request,
        SECTION,
        connection=connection,
        oidc=connection if connection is not None and not is_saml else None,
        saml=_saml_context(connection) if is_saml else None,
        saml_form=forms.get("saml_form") or SamlConnectionForm(),
        certificate_form=forms.get("certificate_form") or SamlCertificateForm(),
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


def _saml_context(connection: SsoConnection | None) -> dict[str, Any] | None:
    if connection is None:
        return None
    return {
        "entity_id": saml.sp_entity_id(connection),
        "acs_url": saml.sp_acs_url(connection),
        "idp_entity_id": connection.idp_entity_id,
        "idp_sso_url": connection.idp_sso_url,
        "metadata_url": connection.idp_metadata_url,
        "certificates": [saml.certificate_info(c) for c in connection.idp_certificates],
        "sp_certificate": saml.certificate_info(connection.sp_certificate),
    }


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


@action_required(Action.IDENTITY_MANAGE)
@require_POST
def saml_save(request: MemberRequest) -> HttpResponse:
    form = SamlConnectionForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            metadata, url = saml_services.saml_metadata_read(
                metadata_url=form.cleaned_data["metadata_url"], metadata_xml=form.cleaned_data["metadata_file"]
            )
            saml_services.saml_connection_save(
                tenant=request.tenant, acting_user=request.user, metadata=metadata, metadata_url=url
            )
        except NotAllowed as exc:
            return forbidden(request, exc)
        except IdentityError as exc:
            form.add_error(exc.field or None, exc.message)
        else:
            messages.success(
                request, _("The SAML identity provider is connected: give it this workspace's metadata below.")
            )
            return redirect("settings_sso")
    return _page(request, status=400, saml_form=form)


@action_required(Action.IDENTITY_MANAGE)
@require_POST
def saml_certificate_add(request: MemberRequest) -> HttpResponse:
    form = SamlCertificateForm(request.POST)
    if form.is_valid():
        try:
            saml_services.saml_certificate_add(
                tenant=request.tenant, acting_user=request.user, certificate=form.cleaned_data["certificate"]
            )
        except NotAllowed as exc:
            return forbidden(request, exc)
        except IdentityError as exc:
            form.add_error(exc.field or None, exc.message)
        else:
            messages.success(request, _("The certificate is trusted beside the current one."))
            return redirect("settings_sso")
    return _page(request, status=400, certificate_form=form)


@action_required(Action.IDENTITY_MANAGE)
@require_POST
def saml_certificate_remove(request: MemberRequest) -> HttpResponse:
    try:
        saml_services.saml_certificate_remove(
            tenant=request.tenant, acting_user=request.user, fingerprint=str(request.POST.get("fingerprint", ""))[:200]
        )
    except NotAllowed as exc:
        return forbidden(request, exc)
    except IdentityError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The certificate is no longer trusted."))
    return redirect("settings_sso")


@action_required(Action.IDENTITY_MANAGE)
@require_POST
def connection_test(request: MemberRequest) -> HttpResponse:
    """Off to the root, where the next sign-in through the identity provider only shows what it sent."""
    connection = selectors.sso_connection_of(tenant_id=request.route.tenant_id)
    if connection is None:
        messages.error(request, _("Connect an identity provider first."))
        return redirect("settings_sso")
    ticket = test_ticket_make(connection=connection, user_id=request.user.pk)
    return redirect(root_url() + reverse("sso_test", kwargs={"ticket": ticket}, urlconf="config.urls_public"))
