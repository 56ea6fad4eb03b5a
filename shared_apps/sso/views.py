"""/sso/ on the root domain: an email (or `?workspace=<slug>`, from a workspace's sign-in page) → the workspace whose
verified domain it is, if it has an identity provider → a button that starts allauth's OpenID Connect login with that
workspace's provider, coming back through the handoff to the workspace."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from shared_apps.core.text import has_control_characters
from shared_apps.identity.models import SsoConnection
from shared_apps.identity.selectors import sso_connection_for_email, sso_connection_for_slug
from shared_apps.identity.sso_test import test_begin, test_ticket_read


def idp_origin(connection: SsoConnection) -> str:
    """The origin the sign-in is redirected to after the page's form (the SAML IdP's single sign-on service, the
    OpenID Connect issuer's host): the page's CSP form-action must allow it, since it governs redirects too."""
    url = connection.idp_sso_url if connection.protocol == SsoConnection.Protocol.SAML else connection.server_url
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("https", "http") and parts.netloc else ""


def _allow_idp(response: HttpResponse, connection: SsoConnection | None) -> HttpResponse:
    origin = idp_origin(connection) if connection is not None else ""
    if origin:
        response._csp_update = {"form-action": [origin]}  # type: ignore[attr-defined]  # django-csp reads it
    return response


def login_url(connection: SsoConnection) -> str:
    """Where the sign-in through this connection starts (a POST): allauth's OpenID Connect or SAML login."""
    if connection.protocol == SsoConnection.Protocol.SAML:
        return reverse("saml_login", kwargs={"organization_slug": connection.provider_id})
    return reverse("openid_connect_login", kwargs={"provider_id": connection.provider_id})


NO_SSO = "No workspace signs in people of that address's domain with single sign-on. Sign in another way."


@require_http_methods(["GET", "POST"])
def start(request: HttpRequest) -> HttpResponse:
    context: dict[str, Any] = {"email": "", "error": "", "workspace": None}
    connection = None
    slug = request.GET.get("workspace", "")
    if request.method == "POST":
        email = str(request.POST.get("email", "")).strip()[:254]
        context["email"] = email if not has_control_characters(email) else ""
        if "@" not in email or has_control_characters(email):
            context["error"] = "Enter your work email address, such as ada@acme.com."
            return render(request, "identity/sso_start.html", context, status=400)
        connection = sso_connection_for_email(email=email)
        if connection is None:
            context["error"] = NO_SSO
            return render(request, "identity/sso_start.html", context, status=404)
    elif slug:
        connection = sso_connection_for_slug(slug=slug[:63])
        if connection is None:
            context["error"] = "That workspace has no single sign-on."
    if connection is not None:
        found, primary_slug = connection
        context.update(
            workspace=found.tenant,
            provider_id=found.provider_id,
            login_url=login_url(found),
            next=reverse("workspace_open", kwargs={"slug": primary_slug}),
        )
    return _allow_idp(render(request, "identity/sso_start.html", context), connection[0] if connection else None)


@require_http_methods(["GET"])
def test(request: HttpRequest, ticket: str) -> HttpResponse:
    """ "Test connection", from the workspace's settings: the next sign-in through its identity provider in this
    browser stops at a page of what the provider sent, making nothing."""
    connection = test_ticket_read(ticket)
    if connection is None:
        raise Http404("This test link has expired. Press “Test connection” again.")
    test_begin(request, connection)
    context = {"workspace": connection.tenant, "login_url": login_url(connection), "next": "/", "testing": True}
    return _allow_idp(render(request, "identity/sso_start.html", context), connection)
