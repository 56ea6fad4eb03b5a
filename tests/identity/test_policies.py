from __future__ import annotations

from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from shared_apps.accounts.models import Role
from shared_apps.accounts.permissions import NotAllowed
from shared_apps.identity.errors import IdentityError
from shared_apps.identity.models import SsoConnection, SsoSignIn
from shared_apps.identity.selectors import policy_for
from shared_apps.identity.services.policies import policy_update
from tenant_apps.audit.models import AuditEntry
from tests.conftest import client_for, host_of
from tests.factories import MembershipFactory


def _update(tenant, user, **changes):
    values: dict[str, Any] = {
        "require_sso": False,
        "require_two_factor": False,
        "session_lifetime_minutes": None,
        "jit_role": "member",
    }
    values.update(changes)
    return policy_update(tenant=tenant, acting_user=user, **values)


def test_a_policy_change_is_saved_and_audited_with_what_changed(tenant, owner, in_tenant) -> None:
    assert not policy_for(tenant_id=tenant.pk).require_sso
    _update(tenant, owner, require_sso=True, session_lifetime_minutes=60)
    _update(tenant, owner, require_sso=True, session_lifetime_minutes=60)  # no change: no entry
    policy = policy_for(tenant_id=tenant.pk)
    assert policy.require_sso
    assert policy.session_lifetime_minutes == 60
    with in_tenant(tenant):
        entries = list(AuditEntry.objects.filter(action="identity.policy_changed"))
    assert len(entries) == 1
    assert entries[0].metadata == {
        "require_sso": {"from": False, "to": True},
        "session_lifetime_minutes": {"from": None, "to": 60},
    }


@pytest.mark.parametrize(
    "changes",
    [{"jit_role": "owner"}, {"jit_role": "x"}, {"session_lifetime_minutes": 1}, {"session_lifetime_minutes": 10**9}],
)
def test_invalid_policies_are_refused(tenant, owner, changes) -> None:
    with pytest.raises(IdentityError):
        _update(tenant, owner, **changes)
    assert policy_for(tenant_id=tenant.pk).pk is None


def test_members_cannot_change_the_policy(tenant, member) -> None:
    with pytest.raises(NotAllowed):
        _update(tenant, member, require_two_factor=True)
    assert policy_for(tenant_id=tenant.pk).pk is None


def test_two_factor_required_sends_a_member_without_it_to_set_it_up(tenant, owner, member) -> None:
    client = client_for(tenant)
    client.force_login(member)
    assert client.get("/").status_code == 200
    _update(tenant, owner, require_two_factor=True)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/"
    assert client.get("/api/v1/me/").status_code == 403
    assert client.get("/accounts/2fa/").status_code == 200  # the way out stays open
    Authenticator.objects.create(user=member, type=Authenticator.Type.TOTP, data={"secret": "x"})
    assert client.get("/").status_code == 200


def test_a_session_older_than_the_workspaces_lifetime_is_ended(tenant, owner, member) -> None:
    client = client_for(tenant)
    client.force_login(member)
    _update(tenant, owner, session_lifetime_minutes=30)
    assert client.get("/").status_code == 200
    session = client.session
    session["identity_login_at"] = session["identity_login_at"] - 31 * 60
    session.save()
    response = client.get("/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]
    assert "_auth_user_id" not in client.session


def test_a_workspace_without_a_policy_adds_no_query(tenant, member) -> None:
    client = client_for(tenant)
    client.force_login(member)
    client.get("/")
    with CaptureQueriesContext(connection) as queries:
        client.get("/")
    assert not [q for q in queries.captured_queries if "identity_workspacepolicy" in q["sql"]]


@pytest.fixture
def sso_required(tenant, owner, verified):
    SsoConnection.objects.create(
        tenant_id=tenant.pk, provider_key="k1", server_url="https://idp.acme.com", client_id="c", secret_encrypted=""
    )
    _update(tenant, owner, require_sso=True)


def test_require_sso_signs_out_a_member_of_the_verified_domain_who_came_another_way(tenant, sso_required) -> None:
    ada = MembershipFactory.create(tenant=tenant, user__email="ada@acme.com").user
    client = client_for(tenant)
    client.force_login(ada)  # a password sign-in on the workspace's host
    response = client.get("/")
    assert response.status_code == 403  # told to continue with SSO (tests/identity/test_capture.py)
    assert f"/sso/?workspace={host_of(tenant).split('.')[0]}" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_require_sso_lets_in_a_session_that_follows_an_sso_sign_in(tenant, sso_required) -> None:
    ada = MembershipFactory.create(tenant=tenant, user__email="ada@acme.com").user
    SsoSignIn.objects.create(user=ada, tenant_id=tenant.pk, signed_in_at=timezone.now())
    client = client_for(tenant)
    client.force_login(ada)  # the handoff's sign-in, seconds after the one at the identity provider
    assert client.get("/").status_code == 200
    assert client.get("/").status_code == 200


def test_require_sso_spares_owners_and_addresses_outside_the_verified_domains(tenant, owner, sso_required) -> None:
    other = MembershipFactory.create(tenant=tenant, user__email="contractor@elsewhere.com").user
    boss = MembershipFactory.create(tenant=tenant, role=Role.OWNER, user__email="boss@acme.com").user
    for person in (other, boss, owner):
        client = client_for(tenant)
        client.force_login(person)
        assert client.get("/").status_code == 200, person.email
