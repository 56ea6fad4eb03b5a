"""Passkeys: the relying party is the root domain on every host, where they are offered, renaming (checked, audited
where it was done) and removing one's own passkeys only, the profile page's queries, and the workspace policy."""

from __future__ import annotations

import json
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from shared_apps.accounts.errors import NotFound
from shared_apps.accounts.passkeys import passkeys_available
from shared_apps.accounts.services import passkey_rename
from shared_apps.identity.services.policies import policy_update
from tenant_apps.audit.models import AuditEntry
from tests.conftest import HostClient, client_for
from tests.factories import MembershipFactory
from tests.factories.passkeys import passkey_for
from tests.helpers import reauthenticated

RENAMED = "mfa.authenticator_renamed"


def _signed_in(client: HostClient, user: Any) -> HostClient:
    client.force_login(user)
    reauthenticated(client, user)  # allauth asks for the password again before any change to a passkey
    return client


def _entries(in_tenant: Any, tenant: Any, action: str) -> list[AuditEntry]:
    with in_tenant(tenant):
        return list(AuditEntry.objects.filter(action=action))


@pytest.mark.parametrize("host_of_client", ["workspace", "root"])
def test_the_relying_party_is_the_root_domain_on_every_host(
    settings: Any, tenant: Any, public_client: HostClient, host_of_client: str
) -> None:
    client = client_for(tenant) if host_of_client == "workspace" else public_client
    response = client.get("/accounts/2fa/webauthn/login/", HTTP_X_REQUESTED_WITH="XMLHttpRequest")
    assert response.status_code == 200
    options = json.loads(response.content)["request_options"]["publicKey"]
    assert options["rpId"] == settings.BASE_DOMAIN
    assert options["userVerification"] == "required"  # a passkey alone signs in: it must have checked who holds it


@pytest.mark.parametrize(
    ("base_domain", "host", "available"),
    [
        ("example.com", "example.com", True),
        ("example.com", "acme.example.com", True),
        ("example.com", "ACME.example.com:8443", True),
        ("example.com", "projects.acme.com", False),  # a workspace's custom domain
        ("example.com", "evil-example.com", False),
        ("atrium.localhost", "acme.atrium.localhost", True),
        ("localhost", "localhost", True),
        ("localhost", "acme.localhost", False),  # browsers refuse a one-label RP id to its subdomains
    ],
)
def test_passkeys_are_offered_where_the_root_domains_passkeys_work(
    settings: Any, base_domain: str, host: str, available: bool
) -> None:
    settings.ALLOWED_HOSTS = ["*"]
    settings.BASE_DOMAIN = base_domain
    assert passkeys_available(RequestFactory().get("/", HTTP_HOST=host)) is available


def test_the_root_sign_in_page_offers_a_passkey(public_client: HostClient) -> None:
    page = public_client.get("/login/").content.decode()
    assert "Sign in with a passkey" in page
    assert 'id="mfa_login"' in page


def test_a_rename_is_saved_and_recorded_in_the_workspace_where_it_was_made(
    tenant: Any, other_tenant: Any, member: Any, in_tenant: Any
) -> None:
    MembershipFactory.create(tenant=other_tenant, user=member)
    passkey = passkey_for(member, "Master key")
    client = _signed_in(client_for(tenant), member)

    response = client.post(f"/accounts/2fa/webauthn/keys/{passkey.pk}/edit/", {"name": "  Work laptop "})

    assert response.status_code == 302
    passkey.refresh_from_db()
    assert passkey.wrap().name == "Work laptop"
    [entry] = _entries(in_tenant, tenant, RENAMED)
    assert entry.actor_id == member.pk
    assert entry.metadata["from"] == "Master key"
    assert entry.metadata["to"] == "Work laptop"
    assert _entries(in_tenant, other_tenant, RENAMED) == []  # made on acme's host: acme's log only


def test_a_rename_on_the_root_is_recorded_in_every_workspace_of_the_person(
    tenant: Any, other_tenant: Any, member: Any, in_tenant: Any
) -> None:
    MembershipFactory.create(tenant=other_tenant, user=member)
    passkey = passkey_for(member)
    passkey_rename(authenticator_id=passkey.pk, name="Phone", acting_user=member, route=None)
    assert len(_entries(in_tenant, tenant, RENAMED)) == 1
    assert len(_entries(in_tenant, other_tenant, RENAMED)) == 1


@pytest.mark.parametrize(
    "name",
    ["", "   ", "Lap\x00top", "Lap\ntop", "Lap\x1b[31mtop", "Lap\u202etop", "x" * 61, "\ufeff"],
)
def test_a_hostile_name_is_refused_with_a_form_error_and_nothing_changes(
    tenant: Any, member: Any, in_tenant: Any, name: str
) -> None:
    passkey = passkey_for(member, "Laptop")
    client = _signed_in(client_for(tenant), member)

    response = client.post(f"/accounts/2fa/webauthn/keys/{passkey.pk}/edit/", {"name": name})

    assert response.status_code == 200
    assert response.context["form"].errors["name"]
    passkey.refresh_from_db()
    assert passkey.wrap().name == "Laptop"
    assert _entries(in_tenant, tenant, RENAMED) == []


def test_someone_elses_passkey_can_be_neither_renamed_nor_removed(
    tenant: Any, owner: Any, member: Any, outsider: Any, in_tenant: Any
) -> None:
    theirs = [passkey_for(owner, "Owner's key"), passkey_for(outsider, "Outsider's key")]
    client = _signed_in(client_for(tenant), member)

    for passkey in theirs:
        assert client.get(f"/accounts/2fa/webauthn/keys/{passkey.pk}/edit/").status_code == 404
        assert client.post(f"/accounts/2fa/webauthn/keys/{passkey.pk}/edit/", {"name": "Mine"}).status_code == 404
        assert client.post(f"/accounts/2fa/webauthn/keys/{passkey.pk}/remove/").status_code == 404
        with pytest.raises(NotFound):
            passkey_rename(authenticator_id=passkey.pk, name="Mine", acting_user=member, route=None)

    assert sorted(a.wrap().name for a in Authenticator.objects.filter(pk__in=[p.pk for p in theirs])) == [
        "Outsider's key",
        "Owner's key",
    ]
    assert _entries(in_tenant, tenant, RENAMED) == []
    assert "Owner&#x27;s key" not in client.get("/settings/profile/").content.decode()


def test_removing_a_passkey_is_audited(tenant: Any, member: Any, in_tenant: Any) -> None:
    passkey = passkey_for(member)
    client = _signed_in(client_for(tenant), member)

    response = client.post(f"/accounts/2fa/webauthn/keys/{passkey.pk}/remove/")

    assert response.status_code == 302
    assert not Authenticator.objects.filter(pk=passkey.pk).exists()
    [entry] = _entries(in_tenant, tenant, "mfa.authenticator_removed")
    assert entry.metadata["type"] == "webauthn"


def test_a_change_without_a_recent_password_is_sent_to_confirm_it_first(tenant: Any, member: Any) -> None:
    passkey = passkey_for(member, "Laptop")
    client = client_for(tenant)
    client.force_login(member)
    response = client.post(f"/accounts/2fa/webauthn/keys/{passkey.pk}/edit/", {"name": "Renamed"})
    assert response.status_code == 302
    assert "/accounts/reauthenticate/" in response["Location"]
    passkey.refresh_from_db()
    assert passkey.wrap().name == "Laptop"


def test_the_profile_page_lists_ones_passkeys_in_a_fixed_number_of_queries(tenant: Any, member: Any) -> None:
    passkey_for(member, "Laptop")
    client = _signed_in(client_for(tenant), member)
    client.get("/settings/profile/")  # warm caches
    with CaptureQueriesContext(connection) as one:
        page = client.get("/settings/profile/")
    assert "Laptop" in page.content.decode()

    for n in range(5):
        passkey_for(member, f"Key {n}", passwordless=False)
    with CaptureQueriesContext(connection) as six:
        page = client.get("/settings/profile/")
    body = page.content.decode()
    assert all(f"Key {n}" in body for n in range(5))
    assert len(six) == len(one)


def test_a_passkey_is_a_second_factor_for_a_workspace_that_requires_one(tenant: Any, owner: Any, member: Any) -> None:
    policy_update(
        tenant=tenant,
        acting_user=owner,
        require_sso=False,
        require_two_factor=True,
        session_lifetime_minutes=None,
        jit_role="member",
    )
    client = client_for(tenant)
    client.force_login(member)
    assert client.get("/")["Location"] == "/accounts/2fa/"

    passkey_for(member, passwordless=False)  # a security key used after the password counts as well

    assert client.get("/").status_code == 200
    assert client.get("/api/v1/me/").status_code == 200
