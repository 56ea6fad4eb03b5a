"""Capture, as a table of cases: on a workspace that requires single sign-on, a member whose address is in its
verified domain (acme.com) signs in there through its identity provider only. Password and emailed code on the
workspace's host are refused before any session exists; a session that arrived another way (a root sign-in handed
off, a social login: `force_login` here) is ended on its first request. Both answer a 403 page that says why and links
"Continue with SSO". Owners (break-glass), addresses outside the verified domains, and workspaces without the policy
are not concerned."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail

from shared_apps.accounts.models import Role
from shared_apps.identity.models import SsoConnection
from shared_apps.identity.services.policies import policy_update
from tests.conftest import HostClient, client_for, host_of
from tests.factories import MembershipFactory
from tests.factories.accounts import PASSWORD


@pytest.fixture
def policy(tenant: Any, owner: Any, verified: Any) -> Any:
    SsoConnection.objects.create(
        tenant_id=tenant.pk, provider_key="k1", server_url="https://idp.acme.com", client_id="c", secret_encrypted=""
    )

    def set_policy(*, require_sso: bool) -> None:
        policy_update(
            tenant=tenant,
            acting_user=owner,
            require_sso=require_sso,
            require_two_factor=False,
            session_lifetime_minutes=None,
            jit_role="member",
        )

    return set_policy


def _password(client: HostClient, email: str) -> Any:
    return client.post("/login/", {"login": email, "password": PASSWORD})


def _code(client: HostClient, email: str) -> Any:
    sent = len(mail.outbox)
    response = client.post("/accounts/login/code/", {"email": email})
    assert response.status_code == 302
    assert len(mail.outbox) == sent + 1
    found = re.search(r"^\s*([A-Z0-9]{4}-?[A-Z0-9]{4}|[A-Z0-9]{6})\s*$", str(mail.outbox[-1].body), re.MULTILINE)
    assert found, mail.outbox[-1].body
    return client.post(response["Location"], {"code": found.group(1)})


def _handed_off(client: HostClient, email: str) -> Any:
    client.force_login(MembershipFactory._meta.model.objects.get(user__email=email).user)
    return client.get("/")


METHODS = {"password": _password, "code": _code, "handoff": _handed_off}


@pytest.mark.parametrize(
    ("email", "role", "require_sso", "method", "refused"),
    [
        ("ada@acme.com", Role.MEMBER, True, "password", True),
        ("ada@acme.com", Role.MEMBER, True, "code", True),
        ("ada@acme.com", Role.MEMBER, True, "handoff", True),
        ("ada@acme.com", Role.ADMIN, True, "password", True),
        ("ada@acme.com", Role.ADMIN, True, "handoff", True),
        ("boss@acme.com", Role.OWNER, True, "password", False),  # the owners' break-glass sign-in
        ("boss@acme.com", Role.OWNER, True, "code", False),
        ("boss@acme.com", Role.OWNER, True, "handoff", False),
        ("pat@elsewhere.com", Role.MEMBER, True, "password", False),  # not of the verified domain
        ("pat@elsewhere.com", Role.MEMBER, True, "handoff", False),
        ("ada@acme.com", Role.MEMBER, False, "password", False),  # the policy is off
        ("ada@acme.com", Role.MEMBER, False, "code", False),
        ("ada@acme.com", Role.MEMBER, False, "handoff", False),
    ],
)
def test_capture(
    tenant: Any, policy: Any, email: str, role: str, require_sso: bool, method: str, refused: bool
) -> None:
    MembershipFactory.create(tenant=tenant, role=role, user__email=email)
    policy(require_sso=require_sso)
    client = client_for(tenant)

    response = METHODS[method](client, email)

    if refused:
        assert response.status_code == 403
        page = response.content.decode()
        assert "Use single sign-on" in page
        assert "acme.com" in page
        assert f"/sso/?workspace={host_of(tenant).split('.')[0]}" in page  # "Continue with SSO"
        assert "_auth_user_id" not in client.session
        assert client.get("/").status_code == 302  # not signed in: sent to the sign-in page
    else:
        assert response.status_code in (200, 302), response.content[:500]
        assert client.get("/").status_code == 200


def test_a_refused_sign_in_on_the_api_is_a_json_403(tenant: Any, policy: Any) -> None:
    ada = MembershipFactory.create(tenant=tenant, user__email="ada@acme.com").user
    policy(require_sso=True)
    client = client_for(tenant)
    client.force_login(ada)
    response = client.get("/api/v1/me/")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "sso_required"
