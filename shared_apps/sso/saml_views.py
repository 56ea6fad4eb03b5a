"""SAML 2.0 sign-in through a workspace's identity provider, on the root domain at allauth's own paths
(`/accounts/saml/ws-<key>/…`, ahead of allauth's views, which know one IdP certificate and no replay check): the
login (a signed AuthnRequest), the assertion consumer service (the IdP's POST, kept in a short session of its own,
then finished on a GET that carries the browser's SameSite session), the SP metadata; and the workspace host's
`/sso/saml/metadata/`. allauth's SAML provider turns the checked response into its social login (JIT membership,
the handoff, "require SSO" follow as for OpenID Connect)."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import get_adapter as get_account_adapter
from allauth.socialaccount.helpers import complete_social_login
from allauth.socialaccount.providers.base.constants import AuthProcess
from allauth.socialaccount.sessions import LoginSession
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from shared_apps.core.text import has_control_characters
from shared_apps.identity import saml
from shared_apps.identity.adapter import app_for, connection_for_provider
from shared_apps.identity.models import SsoConnection
from shared_apps.identity.selectors import sso_connection_of
from shared_apps.identity.services.sso import sso_response_refused

ACS_SESSION = ("identity_saml_acs", "saml-acs-session")
RESPONSE_MAX_CHARS = 500_000


def _connection(organization_slug: str) -> SsoConnection:
    connection = connection_for_provider(organization_slug[:40])
    if connection is None or connection.protocol != SsoConnection.Protocol.SAML:
        raise Http404(_("No such identity provider."))
    return connection


def _provider(request: HttpRequest, connection: SsoConnection) -> Any:
    """allauth's SAML provider for the connection's app (made from the row already read: no second query)."""
    return app_for(connection).get_provider(request)


def _refused(
    request: HttpRequest, connection: SsoConnection, reason: str, detail: str = "", *, audit: bool = True
) -> HttpResponse:
    """The refusal page; audited in the workspace's log when a SAML response was presented (an empty post or a
    stray visit of the finishing URL is not worth an entry: anyone can send one)."""
    if audit:
        sso_response_refused(connection=connection, reason=reason, detail=detail)
    message = _(
        "Your identity provider's answer was refused (%(reason)s). Start the sign-in again from your workspace's "
        "sign-in page; if it happens again, tell your workspace's admins."
    ) % {"reason": reason.replace("_", " ")}
    return render(request, "identity/sso_refused.html", {"reason": message}, status=403 if audit else 400)


@require_http_methods(["GET", "POST"])
def login(request: HttpRequest, organization_slug: str) -> HttpResponse:
    """POST (from the "Sign in with SSO" page): off to the IdP with a signed AuthnRequest whose id the response must
    answer. A GET only shows that page's button: a link alone never starts a sign-in."""
    connection = _connection(organization_slug)
    if request.method == "GET":
        return redirect("sso_start")
    provider = _provider(request, connection)
    next_url = str(request.POST.get("next", ""))[:500]
    if has_control_characters(next_url) or not get_account_adapter(request).is_safe_url(next_url):
        next_url = ""
    url, request_id = saml.login_url(connection, saml.request_data(request))
    provider.stash_redirect_state(request, AuthProcess.LOGIN, next_url or None, None, state_id=request_id)
    return HttpResponseRedirect(url)


@csrf_exempt
@require_POST
def acs(request: HttpRequest, organization_slug: str) -> HttpResponse:
    """The IdP's POST (cross-site: the browser's session cookie is not sent): kept, then finished on a GET."""
    connection = _connection(organization_slug)
    body = str(request.POST.get("SAMLResponse", ""))
    if not body or len(body) > RESPONSE_MAX_CHARS or has_control_characters(body):
        return _refused(request, connection, "invalid", "no SAMLResponse, or an unreadable one", audit=bool(body))
    response = HttpResponseRedirect(reverse("saml_finish_acs", kwargs={"organization_slug": organization_slug}))
    store = LoginSession(request, *ACS_SESSION)
    store.store.update({"SAMLResponse": body, "host": request.get_host(), "secure": request.is_secure()})
    store.save(response)
    return response


@require_GET
def finish_acs(request: HttpRequest, organization_slug: str) -> HttpResponse:
    connection = _connection(organization_slug)
    store = LoginSession(request, *ACS_SESSION)
    body = str(store.store.get("SAMLResponse", ""))
    store.delete()
    if not body:
        return _refused(request, connection, "invalid", "no response was posted to the ACS", audit=False)
    data = saml.request_data(request)
    data.update(
        path_info=reverse("saml_acs", kwargs={"organization_slug": organization_slug}),
        script_name="",
        get_data={},
        post_data={"SAMLResponse": body},
    )
    try:
        result = saml.response_check(connection, data)
    except saml.SamlRefused as exc:
        return _refused(request, connection, exc.reason, exc.detail)
    provider = _provider(request, connection)
    if not result.in_response_to:
        return _refused(request, connection, "unsolicited", "IdP-initiated sign-in is not accepted")
    try:
        state = provider.unstash_redirect_state(request, result.in_response_to)
    except PermissionDenied:
        return _refused(request, connection, "unsolicited", "no sign-in of this browser awaits this response")
    login = provider.sociallogin_from_response(request, result)
    login.state = state
    return complete_social_login(request, login)


@require_GET
def metadata(request: HttpRequest, organization_slug: str) -> HttpResponse:
    return HttpResponse(saml.sp_metadata(_connection(organization_slug)), content_type="application/samlmetadata+xml")


@require_GET
def workspace_metadata(request: HttpRequest) -> HttpResponse:
    """The workspace host's /sso/saml/metadata/: its service provider (entity id, ACS URL, signing certificate)."""
    route = getattr(request, "route", None)
    connection = sso_connection_of(tenant_id=route.tenant_id) if route is not None else None
    if connection is None or connection.protocol != SsoConnection.Protocol.SAML:
        raise Http404(_("This workspace has no SAML identity provider."))
    return HttpResponse(saml.sp_metadata(connection), content_type="application/samlmetadata+xml")


def not_offered(request: HttpRequest, organization_slug: str) -> HttpResponse:
    """Single logout is not offered: signing out of Atrium is its own."""
    raise Http404(_("Single logout is not offered."))
