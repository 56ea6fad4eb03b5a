"""allauth's social-account adapter with the workspaces' own identity providers: each workspace's connection is an
app `ws-<key>` (openid_connect, or saml with `ws-<key>` as its organisation slug), built from its row when (and only
when) that provider is asked for by name. The root sign-in page never lists them; a sign-in through one is accepted
only for an address of its workspace's verified domains. While an admin tests the connection ("Test connection"),
the sign-in stops before anything happens and shows what the identity provider sent."""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.models import SocialApp
from django.http import HttpRequest
from django.shortcuts import render

from shared_apps.accounts.adapter import SocialAccountAdapter as AccountsSocialAccountAdapter
from shared_apps.identity import secrets as secret_box
from shared_apps.identity.models import SsoConnection
from shared_apps.identity.services.sso import SsoRefused, sso_sign_in_check, sso_sign_in_refusal
from shared_apps.identity.sso_test import test_pending

PROVIDER_PREFIX = "ws-"


def connection_for_provider(provider_id: str) -> SsoConnection | None:
    if not provider_id.startswith(PROVIDER_PREFIX):
        return None
    key = provider_id.removeprefix(PROVIDER_PREFIX)
    if not key.isalnum() or len(key) > 32:
        return None
    return SsoConnection.objects.select_related("tenant").filter(provider_key=key, enabled=True).first()


SAML_ATTRIBUTES = {
    "uid": ["urn:oasis:names:tc:SAML:attribute:subject-id"],
    "email": [
        "email",
        "mail",
        "urn:oid:0.9.2342.19200300.100.1.3",
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
    ],
    "first_name": ["givenName", "urn:oid:2.5.4.42", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname"],
    "last_name": ["sn", "surname", "urn:oid:2.5.4.4", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname"],
}


def app_for(connection: SsoConnection) -> SocialApp:
    if connection.protocol == SsoConnection.Protocol.SAML:
        return SocialApp(
            provider="saml",
            provider_id=connection.provider_id,
            name=f"{connection.tenant.name} single sign-on",
            client_id=connection.provider_id,
            settings={"attribute_mapping": SAML_ATTRIBUTES},
        )
    return SocialApp(
        provider="openid_connect",
        provider_id=connection.provider_id,
        name=f"{connection.tenant.name} single sign-on",
        client_id=connection.client_id,
        secret=secret_box.decrypt(connection.secret_encrypted),
        settings={"server_url": connection.server_url, "oauth_pkce_enabled": True},
    )


class SocialAccountAdapter(AccountsSocialAccountAdapter):
    def list_apps(self, request: HttpRequest, provider: Any = None, client_id: Any = None) -> list[Any]:
        apps = super().list_apps(request, provider=provider, client_id=client_id)
        if isinstance(provider, str) and provider.startswith(PROVIDER_PREFIX):
            connection = connection_for_provider(provider)
            if connection is not None and (client_id is None or client_id == app_for(connection).client_id):
                apps.append(app_for(connection))
        elif provider == "saml" and isinstance(client_id, str) and client_id.startswith(PROVIDER_PREFIX):
            connection = connection_for_provider(client_id)
            if connection is not None and connection.protocol == SsoConnection.Protocol.SAML:
                apps.append(app_for(connection))
        return apps

    def pre_social_login(self, request: HttpRequest, sociallogin: Any) -> None:
        connection = connection_for_provider(str(sociallogin.account.provider))
        if connection is not None:
            # A SAML assertion is signed by the workspace's own IdP for Atrium's entity: it vouches for its address.
            saml = connection.protocol == SsoConnection.Protocol.SAML
            verified = [e.email for e in sociallogin.email_addresses if e.verified or saml]
            email = verified[0] if verified else (sociallogin.user.email or "")
            if saml and not email:
                email = str(sociallogin.user.email or "")
                verified = [email] if email else []
            if test_pending(request, connection):
                raise ImmediateHttpResponse(test_result(request, connection, sociallogin, email, bool(verified)))
            try:
                sso_sign_in_check(connection=connection, email=email, email_verified=bool(verified))
            except SsoRefused as exc:
                page = render(request, "identity/sso_refused.html", {"reason": exc.message}, status=403)
                raise ImmediateHttpResponse(page) from exc
            if saml:
                _vouch(sociallogin, email)
        super().pre_social_login(request, sociallogin)


def test_result(request: HttpRequest, connection: SsoConnection, sociallogin: Any, email: str, verified: bool) -> Any:
    """The page of "Test connection": what the identity provider sent, and whether a sign-in would be accepted. No
    account, membership or session is made."""
    extra = sociallogin.account.extra_data or {}
    rows = sorted(
        (str(k)[:200], ", ".join(str(v)[:500] for v in (vs if isinstance(vs, list) else [vs]))[:1000])
        for k, vs in (extra.items() if isinstance(extra, dict) else [])
    )
    context = {
        "connection": connection,
        "uid": str(sociallogin.account.uid)[:500],
        "email": email,
        "attributes": rows,
        "refusal": sso_sign_in_refusal(connection=connection, email=email, email_verified=verified),
    }
    return render(request, "identity/sso_test_result.html", context)


def _vouch(sociallogin: Any, email: str) -> None:
    """The workspace's IdP signed this address, in a domain the workspace verified: the address is verified."""
    found = False
    for address in sociallogin.email_addresses:
        if address.email.lower() == email.lower():
            address.verified = address.primary = found = True
    if not found:
        sociallogin.email_addresses.append(EmailAddress(email=email, verified=True, primary=True))
    sociallogin.user.email = sociallogin.user.email or email
