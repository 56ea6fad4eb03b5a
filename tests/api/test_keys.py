"""API keys: made on the profile page (secret shown once, stored as a SHA-256 with a visible prefix), revoked by their
owner or the workspace's admins, each change audited; a key acts as its member with at most its scope, and stops
working the moment the member goes, the account is deactivated or the workspace is suspended; a key of one workspace
is refused on another's host exactly like a wrong key."""

from __future__ import annotations

import hashlib
import re
import time
from datetime import timedelta
from typing import Any

import pytest
from django.middleware.csrf import get_token
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from shared_apps.accounts import services
from shared_apps.accounts.models import ApiKey, ApiKeyScope, Membership, Role, User
from shared_apps.accounts.selectors import api_key_authenticate
from shared_apps.workspaces.services import workspace_resume, workspace_suspend
from tenant_apps.audit.models import AuditEntry
from tenant_apps.projects.models import Project
from tenants.db import connection
from tenants.models import Tenant
from tests.api.conftest import error_of, key_for, with_key
from tests.conftest import HostClient, client_for
from tests.factories import MembershipFactory

SECRET = re.compile(rb'value="(atr_[A-Za-z0-9_-]{40,})"')


def _create_on_profile(client: HostClient, **data: str) -> Any:
    return client.post("/settings/profile/api-keys/", {"name": "Nightly export", "scope": "read", **data})


def test_a_member_creates_a_key_on_the_profile_page_and_sees_the_secret_once(
    tenant: Tenant, member: User, tenant_client: HostClient, in_tenant: Any
) -> None:
    tenant_client.force_login(member)
    response = _create_on_profile(tenant_client, scope="write")

    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    match = SECRET.search(response.content)
    assert match, response.content[:2000]
    secret = match.group(1).decode()
    key = ApiKey.objects.get(user=member)
    assert (key.name, key.scope, key.tenant_id, key.membership.user_id) == (
        "Nightly export",
        "write",
        tenant.pk,
        member.pk,
    )
    assert key.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret.startswith(key.prefix)
    assert len(key.prefix) == 12
    assert secret not in str(ApiKey.objects.filter(pk=key.pk).values().first())  # only the hash is stored

    again = tenant_client.get("/settings/profile/")
    assert again.status_code == 200
    assert secret.encode() not in again.content  # shown once
    assert key.prefix.encode() in again.content
    assert b"Nightly export" in again.content

    assert with_key(tenant, secret).get("/api/v1/me/").json()["auth"] == {
        "method": "key",
        "scope": "write",
        "key_prefix": key.prefix,
    }
    with in_tenant(tenant):
        entry = AuditEntry.objects.get(action="api_key.created")
    assert (entry.actor_id, entry.target_id, entry.metadata["prefix"]) == (member.pk, str(key.pk), key.prefix)
    assert secret not in str(entry.metadata)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": ""}, "name", b"This field is required"),
        ({"name": "bad\x00name"}, "name", b"Null characters are not allowed"),
        ({"name": "line\nbreak"}, "name", b"control characters"),
        ({"name": "x" * 101}, "name", b"at most 100 characters"),
        ({"scope": "admin"}, "scope", b"Select a valid choice"),
        ({"expires_on": "2001-01-01"}, "expires_on", b"in the future"),
        ({"expires_on": "9999-12-31"}, "expires_on", b"at most three years"),
        ({"expires_on": "99999-01-01"}, "expires_on", b"Enter a valid date"),
    ],
)
def test_bad_key_input_is_refused_next_to_its_field_and_nothing_is_made(
    member: User, tenant_client: HostClient, data: dict[str, str], field: str, message: bytes
) -> None:
    tenant_client.force_login(member)
    response = _create_on_profile(tenant_client, **data)
    assert response.status_code == 400
    assert message in response.content
    assert not ApiKey.objects.exists()


def test_a_member_has_at_most_twenty_active_keys(tenant: Tenant, member: User) -> None:
    for i in range(services.api_keys.KEYS_PER_MEMBER_MAX):
        key_for(tenant, member, name=f"k{i}")
    with pytest.raises(services.ApiKeyInvalid, match="the most one person can have"):
        key_for(tenant, member, name="one too many")


def test_the_new_key_has_a_copy_button_and_says_it_is_shown_once(member: User, tenant_client: HostClient) -> None:
    tenant_client.force_login(member)

    page = _create_on_profile(tenant_client).content.decode()

    assert 'data-copy="#new-api-key-secret"' in page
    assert "shown only this once" in page


def test_the_owner_revokes_a_key_by_typing_its_name_and_it_stops_working_at_once(
    tenant: Tenant, member: User, tenant_client: HostClient, in_tenant: Any
) -> None:
    secret = key_for(tenant, member, name="CI")
    key = ApiKey.objects.get(user=member)
    api = with_key(tenant, secret)
    assert api.get("/api/v1/me/").status_code == 200
    tenant_client.force_login(member)
    page = tenant_client.get(f"/settings/api-keys/{key.pk}/revoke/")
    assert page.status_code == 200
    assert b"Revoke \xe2\x80\x9cCI\xe2\x80\x9d" in page.content

    wrong = tenant_client.post(f"/settings/api-keys/{key.pk}/revoke/", {"confirm_name": "C1"})
    assert wrong.status_code == 400
    assert b"Type the key&#x27;s name, CI" in wrong.content
    assert api.get("/api/v1/me/").status_code == 200

    done = tenant_client.post(f"/settings/api-keys/{key.pk}/revoke/", {"confirm_name": "CI"})
    assert done.status_code == 302
    assert done["Location"] == "/settings/profile/#api-keys"
    refused = api.get("/api/v1/me/")
    assert refused.status_code == 401
    assert error_of(refused)["code"] == "authentication_failed"
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert key.revoked_by_id == member.pk
    with in_tenant(tenant):
        entry = AuditEntry.objects.get(action="api_key.revoked")
    assert (entry.actor_id, entry.metadata["owner"]) == (member.pk, member.email)


def test_admins_see_every_key_and_revoke_any_members_do_not(
    tenant: Tenant, owner: User, member: User, in_tenant: Any
) -> None:
    admin = MembershipFactory.create(tenant=tenant, role=Role.ADMIN, user__email="admin@acme.test").user
    other = MembershipFactory.create(tenant=tenant, role=Role.MEMBER, user__email="other@acme.test").user
    key_for(tenant, member, name="Member's key")
    key_for(tenant, owner, name="Owner's key")
    members_key = ApiKey.objects.get(user=member)

    as_admin, as_other = client_for(tenant), client_for(tenant)
    as_admin.force_login(admin)
    as_other.force_login(other)
    listing = as_admin.get("/settings/api-keys/")
    assert listing.status_code == 200
    assert b"Member&#x27;s key" in listing.content
    assert b"Owner&#x27;s key" in listing.content
    assert as_other.get("/settings/api-keys/").status_code == 403
    assert b"Member&#x27;s key" not in as_other.get("/settings/profile/").content  # only one's own keys there
    assert as_other.get(f"/settings/api-keys/{members_key.pk}/revoke/").status_code == 404
    assert (
        as_other.post(f"/settings/api-keys/{members_key.pk}/revoke/", {"confirm_name": "Member's key"}).status_code
        == 404
    )
    with pytest.raises(services.members.NotAllowed):
        services.api_key_revoke(tenant=tenant, key=members_key, acting_user=other)

    done = as_admin.post(f"/settings/api-keys/{members_key.pk}/revoke/?from=all", {"confirm_name": "Member's key"})
    assert done.status_code == 302
    assert done["Location"] == "/settings/api-keys/"
    members_key.refresh_from_db()
    assert members_key.revoked_by_id == admin.pk
    with in_tenant(tenant):
        assert AuditEntry.objects.filter(action="api_key.revoked", actor=admin).count() == 1


def _dies(tenant: Tenant, secret: str) -> None:
    response = with_key(tenant, secret).get("/api/v1/projects/")
    assert response.status_code in (401, 403), response.content
    assert error_of(response)["code"] in {"authentication_failed", "workspace_suspended"}


def test_a_key_stops_working_when_its_member_is_removed(tenant: Tenant, owner: User, member: User) -> None:
    secret = key_for(tenant, member)
    assert with_key(tenant, secret).get("/api/v1/projects/").status_code == 200
    services.member_remove(tenant=tenant, membership=Membership.objects.get(user=member), acting_user=owner)
    _dies(tenant, secret)
    assert not ApiKey.objects.filter(user=member).exists()  # gone with the membership


def test_a_key_stops_working_when_its_member_leaves_and_does_not_return_with_a_new_membership(
    tenant: Tenant, member: User
) -> None:
    secret = key_for(tenant, member)
    services.member_leave(tenant=tenant, user=member)
    Membership.objects.create(user=member, tenant=tenant, role=Role.MEMBER)  # invited back
    _dies(tenant, secret)


def test_a_key_stops_working_when_the_account_is_deactivated(tenant: Tenant, member: User) -> None:
    secret = key_for(tenant, member)
    User.objects.filter(pk=member.pk).update(is_active=False)
    _dies(tenant, secret)


def test_a_key_stops_working_when_the_workspace_is_suspended_and_again_when_resumed(
    tenant: Tenant, member: User
) -> None:
    secret = key_for(tenant, member)
    api = with_key(tenant, secret)
    assert api.get("/api/v1/projects/").status_code == 200  # the route is cached now
    workspace_suspend(tenant=tenant, acting_user=None, reason="abuse")
    response = api.get("/api/v1/projects/")
    assert response.status_code == 403
    assert error_of(response)["code"] == "workspace_suspended"
    # Even where a process still holds the old route for a moment, the key's one lookup reads the workspace's state.
    assert api_key_authenticate(secret=secret, tenant_id=tenant.pk) is None
    workspace_resume(tenant=tenant, acting_user=None)
    assert api.get("/api/v1/projects/").status_code == 200


def test_an_expired_key_is_refused(tenant: Tenant, member: User) -> None:
    secret = key_for(tenant, member)
    ApiKey.objects.filter(user=member).update(expires_at=timezone.now() - timedelta(seconds=1))
    _dies(tenant, secret)


def test_a_key_of_one_workspace_on_anothers_host_is_refused_with_no_hint(
    tenant: Tenant, other_tenant: Tenant, member: User
) -> None:
    """Even for someone who is a member of both: the key names one workspace."""
    MembershipFactory.create(tenant=other_tenant, role=Role.OWNER, user=member)
    secret = key_for(tenant, member)
    elsewhere = with_key(other_tenant, secret).get("/api/v1/projects/")
    made_up = with_key(other_tenant, "atr_" + "x" * 43).get("/api/v1/projects/")
    no_prefix = with_key(other_tenant, "nothing-like-a-key").get("/api/v1/projects/")

    assert elsewhere.status_code == made_up.status_code == no_prefix.status_code == 401
    assert elsewhere.content == made_up.content == no_prefix.content
    assert elsewhere["WWW-Authenticate"] == made_up["WWW-Authenticate"] == 'Bearer realm="api"'
    assert "RateLimit-Remaining" not in elsewhere  # refused before anything is counted
    assert with_key(tenant, secret).get("/api/v1/projects/").status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Bearer",
        "Bearer ",
        "Bearer a b",
        "Token atr_abc",
        "Basic dXNlcjpwYXNz",
        "Bearer \u00e9\u00e9",
        "Bearer " + "a" * 5000,
    ],
)
def test_missing_or_malformed_credentials_are_a_401_in_the_error_shape(tenant: Tenant, header: str) -> None:
    client = HostClient(client_for(tenant).host, HTTP_AUTHORIZATION=header) if header else client_for(tenant)
    response = client.get("/api/v1/me/")
    assert response.status_code == 401, (header, response.content)
    assert error_of(response)["code"] in {"not_authenticated", "authentication_failed"}
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_verifying_a_key_is_one_indexed_query_and_microseconds_of_hashing(tenant: Tenant, member: User) -> None:
    secret = key_for(tenant, member)
    api_key_authenticate(secret=secret, tenant_id=tenant.pk)
    with CaptureQueriesContext(connection) as queries:
        identity = api_key_authenticate(secret=secret, tenant_id=tenant.pk)
    assert identity is not None
    assert (identity.user.pk, identity.user.email, identity.user.is_active) == (member.pk, member.email, True)
    assert identity.role == Role.MEMBER
    assert len(queries) == 1
    assert "secret_hash = " in queries.captured_queries[0]["sql"]

    rounds = 2000
    started = time.perf_counter()
    for _ in range(rounds):
        ApiKey.hash_secret(secret)
    per_hash_us = (time.perf_counter() - started) / rounds * 1e6
    assert per_hash_us <= 100, per_hash_us  # PBKDF2 would be ~100,000 µs


def test_last_use_is_recorded_at_most_once_a_minute(tenant: Tenant, member: User) -> None:
    secret = key_for(tenant, member)
    api = HostClient(client_for(tenant).host, HTTP_AUTHORIZATION=f"Bearer {secret}", REMOTE_ADDR="203.0.113.7")
    api.get("/api/v1/me/")
    key = ApiKey.objects.get(user=member)
    first = key.last_used_at
    assert first is not None
    assert key.last_used_ip == "203.0.113.7"

    with CaptureQueriesContext(connection) as queries:
        api.get("/api/v1/me/")
    assert not any(q["sql"].startswith("UPDATE") and "accounts_apikey" in q["sql"] for q in queries.captured_queries)
    key.refresh_from_db()
    assert key.last_used_at == first

    ApiKey.objects.filter(pk=key.pk).update(last_used_at=first - timedelta(seconds=61))
    HostClient(client_for(tenant).host, HTTP_AUTHORIZATION=f"Bearer {secret}", REMOTE_ADDR="198.51.100.2").get(
        "/api/v1/me/"
    )
    key.refresh_from_db()
    assert key.last_used_at > first
    assert key.last_used_ip == "198.51.100.2"


def test_a_read_only_key_reads_and_never_writes(tenant: Tenant, owner: User, in_tenant: Any) -> None:
    api = with_key(tenant, key_for(tenant, owner, scope=ApiKeyScope.READ))
    assert api.get("/api/v1/projects/").status_code == 200
    response = api.post("/api/v1/projects/", {"name": "Nope"}, content_type="application/json")
    assert response.status_code == 403
    assert error_of(response)["code"] == "read_only_key"
    with in_tenant(tenant):
        assert not Project.objects.filter(name="Nope").exists()


def test_the_browser_session_works_with_csrf(tenant: Tenant, member: User) -> None:

    browser = HostClient(client_for(tenant).host, enforce_csrf_checks=True)
    browser.force_login(member)
    assert browser.get("/api/v1/me/").json()["auth"]["method"] == "session"
    refused = browser.post("/api/v1/projects/", {"name": "Via the browser"}, content_type="application/json")
    assert refused.status_code == 403
    assert "CSRF" in error_of(refused)["message"]

    token = get_token(RequestFactory().get("/"))
    browser.cookies["csrftoken"] = token
    made = browser.post(
        "/api/v1/projects/", {"name": "Via the browser"}, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert made.status_code == 201, made.content
