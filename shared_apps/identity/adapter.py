"""allauth's social-account adapter with the workspaces' own identity providers: each workspace's OpenID Connect
connection is an openid_connect app `ws-<key>`, built from its row when (and only when) that provider is asked for by
name. The root sign-in page never lists them; a sign-in through one is accepted only for an address of its
workspace's verified domains."""

from __future__ import annotations

from typing import Any

from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.models import SocialApp
from django.http import HttpRequest
from django.shortcuts import render

from shared_apps.accounts.adapter import SocialAccountAdapter as AccountsSocialAccountAdapter
from shared_apps.identity import secrets as secret_box
from shared_apps.identity.models import SsoConnection
from shared_apps.identity.services.sso import SsoRefused, sso_sign_in_check

PROVIDER_PREFIX = "ws-"


def connection_for_provider(provider_id: str) -> SsoConnection | None:
    if not provider_id.startswith(PROVIDER_PREFIX):
        return None
    key = provider_id.removeprefix(PROVIDER_PREFIX)
    if not key.isalnum() or len(key) > 32:
        return None
    return SsoConnection.objects.select_related("tenant").filter(provider_key=key, enabled=True).first()


def _app(connection: SsoConnection) -> SocialApp:
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
            if connection is not None and (client_id is None or client_id == connection.client_id):
                apps.append(_app(connection))
        return apps

    def pre_social_login(self, request: HttpRequest, sociallogin: Any) -> None:
        connection = connection_for_provider(str(sociallogin.account.provider))
        if connection is not None:
            verified = [e.email for e in sociallogin.email_addresses if e.verified]
            email = verified[0] if verified else (sociallogin.user.email or "")
            try:
                sso_sign_in_check(connection=connection, email=email, email_verified=bool(verified))
            except SsoRefused as exc:
                page = render(request, "identity/sso_refused.html", {"reason": exc.message}, status=403)
                raise ImmediateHttpResponse(page) from exc
        super().pre_social_login(request, sociallogin)
