"""Social login end to end against a real OpenID Connect provider on loopback (tests/oidc_provider), not a mock:
redirect → sign-in and consent at the provider → callback (code exchanged over HTTP) → handoff → workspace session."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from allauth.socialaccount.models import SocialAccount

from shared_apps.accounts.models import Role, User
from tenants.models import Domain, Tenant
from tests.conftest import HostClient
from tests.factories import MembershipFactory, UserFactory
from tests.helpers import handoff_ticket
from tests.oidc_fixtures import OIDCProvider, running_oidc_provider


def local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def sign_in_at_provider(provider: OIDCProvider, root: HostClient, *, next_path: str | None = None) -> Any:
    data = {"process": "login"}
    if next_path:
        data["next"] = next_path
    response = root.post(f"/accounts/oidc/{provider.provider_id}/login/", data)
    assert response.status_code == 302, response.content[:500]
    assert response["Location"].startswith(provider.server_url)
    callback = provider.login_and_consent(response["Location"])
    assert urlsplit(callback).path == f"/accounts/oidc/{provider.provider_id}/login/callback/"
    return root.get(local(callback))


@pytest.fixture
def oidc(oidc_provider: OIDCProvider, settings) -> OIDCProvider:
    settings.SOCIALACCOUNT_PROVIDERS = oidc_provider.allauth_providers()
    return oidc_provider


@pytest.mark.usefixtures("tenant")
def test_social_signup_creates_the_organization_and_lands_on_its_subdomain(oidc: OIDCProvider) -> None:
    root = HostClient("localhost")

    response = sign_in_at_provider(oidc, root)

    # a new person: signed up by the provider's verified email, then asked for the workspace
    assert response.status_code == 302
    assert response["Location"] == "/signup/workspace/"
    user = User.objects.get(email=oidc.user_email)
    assert SocialAccount.objects.get(user=user).provider == oidc.provider_id
    response = root.post("/signup/workspace/", {"name": "Analytical Engines", "subdomain": "engines"})
    assert response["Location"].startswith("http://engines.localhost/auth/start/")
    engines = HostClient("engines.localhost")
    ticket = handoff_ticket(root, engines, start_url=response["Location"])
    assert engines.get(local(ticket)).status_code == 302
    home = engines.get("/")
    assert home.status_code == 200
    assert b"Analytical Engines" in home.content
    assert oidc.user_email.encode() in home.content
    tenant = Domain.objects.get(domain="engines.localhost").tenant
    assert tenant.memberships.get().user == user


def test_social_login_from_a_workspace_comes_back_to_it_through_a_handoff(oidc: OIDCProvider, tenant: Tenant) -> None:
    member = UserFactory.create(email=oidc.user_email)
    MembershipFactory.create(user=member, tenant=tenant, role=Role.MEMBER)
    root = HostClient("localhost")

    # the workspace's own sign-in page offers the provider; its button starts the flow on the root and asks to come
    # back to acme
    page = HostClient("acme.localhost").get("/login/").content.decode()
    button = re.search(r'href="(http://localhost/accounts/oidc/oidc/login/\?[^"]+)"', page)
    assert button, page
    start = html.unescape(button.group(1))
    assert "next=%2Fworkspaces%2Facme%2Fopen%2F" in start
    assert root.get(local(start)).status_code == 200  # allauth's "continue with…" confirmation page
    response = sign_in_at_provider(oidc, root, next_path="/workspaces/acme/open/")

    assert response["Location"] == "/workspaces/acme/open/"
    acme = HostClient("acme.localhost")
    ticket = handoff_ticket(root, acme, slug="acme")
    assert ticket.startswith("http://acme.localhost/auth/handoff/")
    acme.get(local(ticket))
    assert acme.get("/").status_code == 200
    # the provider-verified email linked the social account to the existing account
    assert SocialAccount.objects.get(provider=oidc.provider_id).user == member


@pytest.fixture(scope="module")
def unverifying_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OIDCProvider]:
    workdir: Path = tmp_path_factory.mktemp("oidc-unverified")
    with running_oidc_provider(workdir, email_verified=False) as provider:
        yield provider


def test_an_email_the_provider_did_not_verify_never_links_to_an_existing_account(
    unverifying_provider: OIDCProvider, settings, tenant: Tenant
) -> None:
    settings.SOCIALACCOUNT_PROVIDERS = unverifying_provider.allauth_providers()
    victim = UserFactory.create(email=unverifying_provider.user_email)
    MembershipFactory.create(user=victim, tenant=tenant, role=Role.OWNER)
    root = HostClient("localhost")

    response = sign_in_at_provider(unverifying_provider, root, next_path="/workspaces/acme/open/")

    assert not SocialAccount.objects.filter(user=victim).exists()
    assert root.session.get("_auth_user_id") != str(victim.pk)
    assert response["Location"] != "/workspaces/acme/open/"
