"""SCIM 2.0 through the test client: provisioning joins people of the workspace's verified domains, deactivation ends
their membership within a request, groups become the Django groups project sharing grants to, and every refusal is a
SCIM Error."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shared_apps.accounts.hooks import seat_limit_source, seat_limit_source_set
from shared_apps.accounts.models import Membership, Role, User
from shared_apps.identity.models import ScimToken, ScimUser, WorkspaceGroup
from shared_apps.identity.services.domains import domain_add, domain_check, record_name, record_value
from shared_apps.identity.services.scim_tokens import scim_token_create, scim_token_revoke
from tenant_apps.audit.models import AuditEntry
from tenant_apps.webhooks import services as webhooks
from tests.conftest import client_for
from tests.factories import MembershipFactory, UserFactory
from tests.webhooks.receiver import start_receiver, verify_both

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
CT = "application/scim+json"


def _post(client, path: str, body: Any):
    return client.post(path, data=json.dumps(body), content_type=CT)


def _user(user_name: str, email: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"schemas": [USER_SCHEMA], "userName": user_name, **extra}
    if email:
        body["emails"] = [{"value": email, "primary": True, "type": "work"}]
    return body


def _deactivate(client, scim_id: str):
    body = {"schemas": [PATCH_SCHEMA], "Operations": [{"op": "replace", "value": {"active": False}}]}
    return client.patch(f"/scim/v2/Users/{scim_id}", data=json.dumps(body), content_type=CT)


def test_discovery_answers_with_scim_json(scim) -> None:
    for path in ("/scim/v2/ServiceProviderConfig", "/scim/v2/ResourceTypes", "/scim/v2/Schemas"):
        response = scim.get(path)
        assert response.status_code == 200, (path, response.content[:300])
        assert response["Content-Type"] == CT
    types = scim.get("/scim/v2/ResourceTypes").json()
    assert {r["name"] for r in types["Resources"]} == {"User", "Group"}


def test_a_person_of_a_verified_domain_joins_and_deactivation_takes_them_out_at_once(
    scim, tenant, verified, in_tenant
) -> None:
    # given: a person provisioned through SCIM
    created = _post(scim, "/scim/v2/Users", _user("Ada@acme.com", "ada@acme.com", name={"givenName": "Ada"}))
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["userName"] == "Ada@acme.com"
    assert body.get("active", True) is True
    assert created["Location"].endswith(f"/scim/v2/Users/{body['id']}")
    account = User.objects.get(email="ada@acme.com")
    assert Membership.objects.get(tenant=tenant, user=account).role == Role.MEMBER
    # and signed in on the workspace
    browser = client_for(tenant)
    browser.force_login(account)
    assert browser.get("/").status_code == 200
    # when the IdP deactivates them
    response = _deactivate(scim, body["id"])
    # then they are out on their next request, and the account lives on
    assert response.status_code == 200, response.content
    assert response.json()["active"] is False
    assert not Membership.objects.filter(tenant=tenant, user=account).exists()
    assert browser.get("/").status_code == 403
    account.refresh_from_db()
    assert account.is_active
    with in_tenant(tenant):
        actions = list(AuditEntry.objects.filter(action__startswith="scim.").values_list("action", flat=True))
    assert actions == ["scim.user_deactivated", "scim.user_created", "scim.token_created"]


def test_an_address_outside_the_verified_domains_is_held_without_membership(scim, tenant, verified) -> None:
    victim = UserFactory.create(email="victim@elsewhere.com")
    response = _post(scim, "/scim/v2/Users", _user("victim@elsewhere.com", "victim@elsewhere.com"))
    assert response.status_code == 201
    assert not Membership.objects.filter(tenant=tenant, user=victim).exists()
    assert ScimUser.objects.get(tenant_id=tenant.pk).user is None


def test_owners_are_kept_when_deactivated(scim, tenant, verified) -> None:
    owner = MembershipFactory.create(tenant=tenant, role=Role.OWNER, user__email="boss@acme.com").user
    response = _post(scim, "/scim/v2/Users", _user(owner.email, owner.email))
    assert response.status_code == 201
    _deactivate(scim, response.json()["id"])
    assert Membership.objects.filter(tenant=tenant, user=owner, role=Role.OWNER).exists()


def test_filter_and_paging(scim, verified) -> None:
    for i in range(5):
        assert _post(scim, "/scim/v2/Users", _user(f"user{i}@acme.com")).status_code == 201
    found = scim.get("/scim/v2/Users", {"filter": 'userName eq "USER3@acme.com"'}).json()
    assert found["totalResults"] == 1
    assert found["Resources"][0]["userName"] == "user3@acme.com"
    page = scim.get("/scim/v2/Users", {"startIndex": 2, "count": 2}).json()
    assert page["totalResults"] == 5
    assert [r["userName"] for r in page["Resources"]] == ["user1@acme.com", "user2@acme.com"]
    assert page["startIndex"] == 2


def test_groups_are_django_groups_of_the_members(scim, tenant, verified) -> None:
    ada = _post(scim, "/scim/v2/Users", _user("ada@acme.com", "ada@acme.com")).json()
    held = _post(scim, "/scim/v2/Users", _user("bob@other.com", "bob@other.com")).json()
    created = _post(
        scim,
        "/scim/v2/Groups",
        {
            "schemas": [GROUP_SCHEMA],
            "displayName": "Engineering",
            "members": [{"value": ada["id"]}, {"value": held["id"]}],
        },
    )
    assert created.status_code == 201, created.content
    group = WorkspaceGroup.objects.get(tenant_id=tenant.pk)
    account = User.objects.get(email="ada@acme.com")
    assert list(group.group.user_set.all()) == [account]
    # deactivating ends the Django group's membership too (so no project grant through it remains)
    _deactivate(scim, ada["id"])
    assert not group.group.user_set.exists()


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("post", "/scim/v2/Users", "not json", 400),
        ("post", "/scim/v2/Users", [], 400),
        ("post", "/scim/v2/Users", {"schemas": [USER_SCHEMA]}, 400),
        ("post", "/scim/v2/Users", {"schemas": [USER_SCHEMA], "userName": "a\x00b"}, 400),
        ("post", "/scim/v2/Users", {"schemas": [USER_SCHEMA], "userName": "x" * 300}, 400),
        ("post", "/scim/v2/Users", {"schemas": [USER_SCHEMA], "userName": 5, "emails": "x"}, 400),
        ("post", "/scim/v2/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "G", "members": [{"value": "1"}]}, 400),
        ("get", "/scim/v2/Users?filter=userName%20co%20%22a%22", None, 400),
        ("get", "/scim/v2/Users?filter=password%20eq%20%22a%22", None, 400),
        ("get", "/scim/v2/Users?count=abc", None, 400),
        ("get", "/scim/v2/Users/not-a-uuid", None, 404),
        ("get", "/scim/v2/Users/00000000-0000-0000-0000-000000000000", None, 404),
        ("get", "/scim/v2/Nope", None, 404),
        ("delete", "/scim/v2/Users", None, 405),
        ("patch", "/scim/v2/Users/00000000-0000-0000-0000-000000000000", {"Operations": []}, 404),
    ],
)
def test_hostile_requests_get_a_scim_error(scim, method, path, body, status) -> None:
    if body is None:
        response = getattr(scim, method)(path)
    else:
        data = body if isinstance(body, str) else json.dumps(body)
        response = getattr(scim, method)(path, data=data, content_type=CT)
    assert response.status_code == status, response.content
    assert response["Content-Type"] == CT
    payload = response.json()
    assert payload["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert payload["detail"]
    assert not ScimUser.objects.exists()


def test_a_duplicate_user_name_is_a_uniqueness_error(scim, verified) -> None:
    assert _post(scim, "/scim/v2/Users", _user("dup@acme.com")).status_code == 201
    again = _post(scim, "/scim/v2/Users", _user("DUP@acme.com"))
    assert again.status_code == 409
    assert again.json()["scimType"] == "uniqueness"


def test_no_token_a_wrong_token_and_a_revoked_token_are_refused(tenant_client, tenant, owner, scim_secret) -> None:
    assert tenant_client.get("/scim/v2/Users").status_code == 401
    response = tenant_client.get("/scim/v2/Users", HTTP_AUTHORIZATION="Bearer atr_scim_wrong")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    token_id = ScimToken.objects.get().pk
    scim_token_revoke(tenant=tenant, token_id=token_id, acting_user=owner)
    assert tenant_client.get("/scim/v2/Users", HTTP_AUTHORIZATION=f"Bearer {scim_secret}").status_code == 401


def test_workspace_b_cannot_see_change_or_infer_workspace_as_scim_data(
    scim, scim_secret, tenant, verified, other_tenant, other_tenant_client, outsider
) -> None:
    ada = _post(scim, "/scim/v2/Users", _user("ada@acme.com", "ada@acme.com")).json()
    group = _post(scim, "/scim/v2/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Eng"}).json()
    # A's token on B's host is unknown there
    assert other_tenant_client.get("/scim/v2/Users", HTTP_AUTHORIZATION=f"Bearer {scim_secret}").status_code == 401
    # B's own token sees nothing of A, and A's ids are "not found" there, for every method
    secret_b = scim_token_create(tenant=other_tenant, name="B", acting_user=outsider)[1]
    b = other_tenant_client
    b.defaults["HTTP_AUTHORIZATION"] = f"Bearer {secret_b}"
    assert b.get("/scim/v2/Users").json()["totalResults"] == 0
    assert b.get("/scim/v2/Users", {"filter": 'userName eq "ada@acme.com"'}).json()["totalResults"] == 0
    assert b.get("/scim/v2/Groups").json()["totalResults"] == 0
    for kind, item in (("Users", ada), ("Groups", group)):
        url = f"/scim/v2/{kind}/{item['id']}"
        assert b.get(url).status_code == 404
        assert b.put(url, data=json.dumps(_user("x")), content_type=CT).status_code == 404
        assert _deactivate(b, item["id"]).status_code == 404
        assert b.delete(url).status_code == 404
    # B cannot put A's user in a group of its own
    refused = _post(
        b, "/scim/v2/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Steal", "members": [{"value": ada["id"]}]}
    )
    assert refused.status_code == 400
    # B can provision the same userName: nothing says A has it
    assert _post(b, "/scim/v2/Users", _user("ada@acme.com", "ada@acme.com")).status_code == 201
    assert Membership.objects.filter(tenant=tenant, user__email="ada@acme.com").exists()
    assert not Membership.objects.filter(tenant=other_tenant, user__email="ada@acme.com").exists()


def test_query_counts(scim, verified) -> None:
    for i in range(3):
        _post(scim, "/scim/v2/Users", _user(f"u{i}@acme.com", f"u{i}@acme.com"))
    with CaptureQueriesContext(connection) as small:
        assert scim.get("/scim/v2/Users").status_code == 200
    for i in range(3, 20):
        _post(scim, "/scim/v2/Users", _user(f"u{i}@acme.com", f"u{i}@acme.com"))
    with CaptureQueriesContext(connection) as large:
        assert scim.get("/scim/v2/Users").status_code == 200
    assert len(large) == len(small) <= 4, [q["sql"] for q in large.captured_queries]
    with CaptureQueriesContext(connection) as created:
        assert _post(scim, "/scim/v2/Users", _user("new@acme.com", "new@acme.com")).status_code == 201
    assert len(created) <= 22, [q["sql"] for q in created.captured_queries]


def test_two_users_of_one_address_are_a_uniqueness_error_and_nothing_is_left(scim, tenant, verified) -> None:
    assert _post(scim, "/scim/v2/Users", _user("first", "same@acme.com")).status_code == 201
    again = _post(scim, "/scim/v2/Users", _user("second", "same@acme.com"))
    assert again.status_code == 409
    assert list(ScimUser.objects.filter(tenant_id=tenant.pk).values_list("user_name", flat=True)) == ["first"]
    assert Membership.objects.filter(tenant=tenant, user__email="same@acme.com").count() == 1


def test_no_free_seat_is_a_clear_refusal_and_nothing_is_made(scim, tenant, verified) -> None:
    used = Membership.objects.filter(tenant=tenant).count()
    previous = seat_limit_source()
    seat_limit_source_set(lambda tenant_id: used)
    try:
        response = _post(scim, "/scim/v2/Users", _user("late@acme.com", "late@acme.com"))
    finally:
        seat_limit_source_set(previous)
    assert response.status_code == 403
    assert "no free seat" in response.json()["detail"]
    assert not ScimUser.objects.filter(tenant_id=tenant.pk).exists()
    assert not User.objects.filter(email="late@acme.com").exists()


def test_people_held_for_a_domain_join_when_it_is_verified(scim, tenant, owner, fake_dns) -> None:
    assert _post(scim, "/scim/v2/Users", _user("grace@acme.com", "grace@acme.com")).status_code == 201
    assert not Membership.objects.filter(tenant=tenant, user__email="grace@acme.com").exists()
    row = domain_add(tenant=tenant, domain="acme.com", acting_user=owner)
    fake_dns.records[record_name(row)] = [record_value(row)]
    domain_check(tenant=tenant, domain_id=row.pk, acting_user=owner)
    assert Membership.objects.filter(tenant=tenant, user__email="grace@acme.com").exists()
    linked = ScimUser.objects.get(tenant_id=tenant.pk).user
    assert linked is not None
    assert linked.email == "grace@acme.com"


def test_a_person_provisioned_through_scim_is_sent_as_member_joined(
    scim, tenant, owner, verified, in_tenant, django_capture_on_commit_callbacks
) -> None:
    receiver = start_receiver()
    try:
        with in_tenant(tenant):
            _endpoint, secret = webhooks.endpoint_create(
                tenant=tenant, acting_user=owner, url=receiver.url("/members"), event_types=["member.joined"]
            )
        with django_capture_on_commit_callbacks(execute=True):
            created = _post(scim, "/scim/v2/Users", _user("grace@acme.com", "grace@acme.com"))
        assert created.status_code == 201, created.content
        [got] = receiver.wait_for(1, path="/members")
    finally:
        receiver.close()
    payload = verify_both(secret, got)
    assert payload["type"] == "member.joined"
    assert payload["data"]["user"]["email"] == "grace@acme.com"
    assert payload["data"]["id"] == Membership.objects.get(tenant=tenant, user__email="grace@acme.com").pk
