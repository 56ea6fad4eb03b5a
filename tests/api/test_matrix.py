"""Every endpoint x every role x both scopes, on a private project shared at each level: the API answers exactly what
the product's rules (tenant_apps/projects/permissions.py) and the workspace's permission matrix say, a refused write
changes nothing and writes no audit entry, and a read-only key never writes.

Each request runs in a savepoint rolled back afterwards, so every person meets the same starting state."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from shared_apps.accounts.models import ApiKeyScope, Invitation, Membership, User
from tenant_apps.audit.models import AuditEntry
from tenants.models import Tenant
from tests.api.conftest import error_of, key_for, with_key
from tests.conftest import HostClient
from tests.factories import DocumentFactory
from tests.projects.conftest import Site

PEOPLE = ("owner", "admin", "manager", "editor", "viewer", "stranger")
ADMINS = {"owner", "admin"}
VIEWERS = {"owner", "admin", "manager", "editor", "viewer"}
EDITORS = {"owner", "admin", "manager", "editor"}
MANAGERS = {"owner", "admin", "manager"}
EVERYONE = set(PEOPLE)


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    # {p} project, {t} task, {c} comment, {m} the stranger's membership, {i} an invitation, {d} a document,
    # {u} the stranger's user id, {v} the viewer's user id (in paths and in string values of the body)
    path: str
    ok: int
    allowed: set[str]
    denied: int = 403  # what someone outside `allowed` gets (404 when they may not even see the project)
    body: dict[str, Any] | None = None
    hidden: set[str] | None = None  # people who may not see the project: 404
    audited: bool = True  # a write that is audited (signing an upload is not: its confirmation is)


CASES = [
    Case("me", "get", "/api/v1/me/", 200, EVERYONE),
    Case("projects list", "get", "/api/v1/projects/", 200, EVERYONE),
    Case("project create", "post", "/api/v1/projects/", 201, EVERYONE, body={"name": "New"}),
    Case("project read", "get", "/api/v1/projects/{p}/", 200, VIEWERS, denied=404),
    Case(
        "project rename", "patch", "/api/v1/projects/{p}/", 200, EDITORS, body={"name": "Renamed"}, hidden={"stranger"}
    ),
    Case(
        "project visibility",
        "patch",
        "/api/v1/projects/{p}/",
        200,
        MANAGERS,
        body={"visibility": "workspace"},
        hidden={"stranger"},
    ),
    Case("project archive", "post", "/api/v1/projects/{p}/archive/", 200, MANAGERS, hidden={"stranger"}),
    Case("project delete", "delete", "/api/v1/projects/{p}/", 204, MANAGERS, hidden={"stranger"}),
    Case("tasks list", "get", "/api/v1/projects/{p}/tasks/", 200, VIEWERS, denied=404),
    Case("task read", "get", "/api/v1/projects/{p}/tasks/{t}/", 200, VIEWERS, denied=404),
    Case("task create", "post", "/api/v1/projects/{p}/tasks/", 201, EDITORS, body={"title": "T"}, hidden={"stranger"}),
    Case(
        "task edit",
        "patch",
        "/api/v1/projects/{p}/tasks/{t}/",
        200,
        EDITORS,
        body={"title": "Edited", "status": "done"},
        hidden={"stranger"},
    ),
    Case(
        "task move",
        "post",
        "/api/v1/projects/{p}/tasks/{t}/move/",
        200,
        EDITORS,
        body={"status": "doing", "position": 0},
        hidden={"stranger"},
    ),
    Case("task delete", "delete", "/api/v1/projects/{p}/tasks/{t}/", 204, EDITORS, hidden={"stranger"}),
    Case("comments list", "get", "/api/v1/projects/{p}/tasks/{t}/comments/", 200, VIEWERS, denied=404),
    Case("comment read", "get", "/api/v1/projects/{p}/tasks/{t}/comments/{c}/", 200, VIEWERS, denied=404),
    Case(
        "comment create",
        "post",
        "/api/v1/projects/{p}/tasks/{t}/comments/",
        201,
        EDITORS,
        body={"body": "Hi"},
        hidden={"stranger"},
    ),
    # The comment is the owner's: only its author edits it.
    Case(
        "comment edit",
        "patch",
        "/api/v1/projects/{p}/tasks/{t}/comments/{c}/",
        200,
        {"owner"},
        body={"body": "Edited"},
        hidden={"stranger"},
    ),
    Case(
        "comment delete", "delete", "/api/v1/projects/{p}/tasks/{t}/comments/{c}/", 204, MANAGERS, hidden={"stranger"}
    ),
    Case("sharing read", "get", "/api/v1/projects/{p}/sharing/", 200, MANAGERS, hidden={"stranger"}),
    Case(
        "sharing grant",
        "patch",
        "/api/v1/projects/{p}/sharing/",
        200,
        MANAGERS,
        body={"grants": [{"user": "{u}", "level": "change"}]},
        hidden={"stranger"},
    ),
    Case(
        "sharing revoke",
        "patch",
        "/api/v1/projects/{p}/sharing/",
        200,
        MANAGERS,
        body={"grants": [{"user": "{v}", "level": None}]},
        hidden={"stranger"},
    ),
    Case(
        "sharing visibility",
        "patch",
        "/api/v1/projects/{p}/sharing/",
        200,
        MANAGERS,
        body={"visibility": "workspace"},
        hidden={"stranger"},
    ),
    Case("documents list", "get", "/api/v1/projects/{p}/documents/", 200, VIEWERS, denied=404),
    Case("document read", "get", "/api/v1/projects/{p}/documents/{d}/", 200, VIEWERS, denied=404),
    Case("document download", "get", "/api/v1/projects/{p}/documents/{d}/download/", 302, VIEWERS, denied=404),
    Case(
        "document upload start",
        "post",
        "/api/v1/projects/{p}/documents/",
        201,
        EDITORS,
        body={"name": "Plan.pdf", "size": 1000},
        hidden={"stranger"},
        audited=False,
    ),
    Case("document delete", "delete", "/api/v1/projects/{p}/documents/{d}/", 204, EDITORS, hidden={"stranger"}),
    Case("members list", "get", "/api/v1/members/", 200, EVERYONE),
    Case("member read", "get", "/api/v1/members/{m}/", 200, EVERYONE),
    Case("member role change", "patch", "/api/v1/members/{m}/", 200, ADMINS, body={"role": "admin"}),
    Case("member remove", "delete", "/api/v1/members/{m}/", 204, ADMINS),
    # the owner is the workspace's last owner: they may not leave (409), everyone else may
    Case("leave", "post", "/api/v1/members/leave/", 204, EVERYONE - {"owner"}, denied=409),
    Case("ownership transfer", "post", "/api/v1/members/{m}/transfer-ownership/", 200, {"owner"}),
    Case("invitations list", "get", "/api/v1/invitations/", 200, ADMINS),
    Case("invitation read", "get", "/api/v1/invitations/{i}/", 200, ADMINS),
    Case("invite", "post", "/api/v1/invitations/", 201, ADMINS, body={"emails": ["new@example.com"]}),
    Case("invitation resend", "post", "/api/v1/invitations/{i}/resend/", 200, ADMINS),
    Case("invitation revoke", "delete", "/api/v1/invitations/{i}/", 204, ADMINS),
]


def _filled(value: Any, ids: dict[str, int]) -> Any:
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: _filled(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_filled(v, ids) for v in value]
    return value


def _request(client: HostClient, case: Case, ids: dict[str, int]) -> Any:
    path = case.path.format(**ids)
    call: Callable[..., Any] = getattr(client, case.method)
    if case.method == "get":
        return call(path)
    return call(path, _filled(case.body or {}, ids), content_type="application/json")


def _audit_count(tenant: Tenant, in_tenant: Any) -> int:
    with in_tenant(tenant):
        return AuditEntry.objects.count()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_endpoint_for_every_role_and_scope(
    case: Case,
    tenant: Tenant,
    in_tenant: Any,
    people: dict[str, User],
    private_site: Site,
    django_capture_on_commit_callbacks: Any,
) -> None:
    invitation = Invitation.objects.create(
        tenant=tenant,
        email="invited@example.com",
        token_hash="x" * 64,
        invited_by=people["owner"],
        expires_at=timezone.now() + timedelta(days=7),
    )
    with in_tenant(tenant):
        document = DocumentFactory.create(project=private_site.project, name="Plan.pdf", uploaded_by=people["editor"])
    ids = {
        "p": private_site.project.pk,
        "t": private_site.task.pk,
        "c": private_site.comment.pk,
        "m": Membership.objects.get(user=people["stranger"], tenant=tenant).pk,
        "i": invitation.pk,
        "d": document.pk,
        "u": people["stranger"].pk,
        "v": people["viewer"].pk,
    }
    keys = {(who, scope): key_for(tenant, people[who], scope=scope) for who in PEOPLE for scope in ApiKeyScope.values}
    is_write = case.method != "get"
    for (who, scope), secret in keys.items():
        client = with_key(tenant, secret)
        before = _audit_count(tenant, in_tenant)
        with transaction.atomic():
            response = _request(client, case, ids)
            after = _audit_count(tenant, in_tenant)
            transaction.set_rollback(True)
        label = (case.name, who, scope, response.status_code, response.content[:300])
        if is_write and scope == ApiKeyScope.READ:
            assert response.status_code == 403, label
            assert error_of(response)["code"] == "read_only_key", label
            assert after == before, label
        elif who in case.allowed:
            assert response.status_code == case.ok, label
            if case.ok != 204:
                assert response["Content-Type"] == "application/json", label
            if is_write and case.audited:
                assert after > before, label  # every write is audited
        else:
            expected = 404 if case.hidden and who in case.hidden else case.denied
            assert response.status_code == expected, label
            error_of(response)
            assert after == before, label  # refused: nothing written


def test_the_list_holds_what_each_person_may_see(
    tenant: Tenant, people: dict[str, User], private_site: Site, workspace_site: Site
) -> None:
    for who in PEOPLE:
        names = {
            p["name"] for p in with_key(tenant, key_for(tenant, people[who])).get("/api/v1/projects/").json()["results"]
        }
        expected = {"Open roadmap"} | ({"Secret launch"} if who in VIEWERS else set())
        assert names == expected, who


def test_permissions_on_each_project_say_what_the_caller_may_do(
    tenant: Tenant, people: dict[str, User], private_site: Site
) -> None:
    expected = {
        "owner": ["view", "change", "manage"],
        "manager": ["view", "change", "manage"],
        "editor": ["view", "change"],
        "viewer": ["view"],
    }
    for who, permissions in expected.items():
        api = with_key(tenant, key_for(tenant, people[who]))
        assert api.get(f"/api/v1/projects/{private_site.project.pk}/").json()["permissions"] == permissions, who


def test_members_see_security_details_only_as_admins(tenant: Tenant, people: dict[str, User]) -> None:
    as_member = with_key(tenant, key_for(tenant, people["viewer"])).get("/api/v1/members/").json()["results"]
    as_admin = with_key(tenant, key_for(tenant, people["admin"])).get("/api/v1/members/").json()["results"]
    assert {m["mfa_enabled"] for m in as_member} == {None}
    assert {m["mfa_enabled"] for m in as_admin} == {False}


def test_only_owners_make_owners_and_the_last_owner_stays(tenant: Tenant, people: dict[str, User]) -> None:
    admin = with_key(tenant, key_for(tenant, people["admin"]))
    owner = with_key(tenant, key_for(tenant, people["owner"]))
    stranger = Membership.objects.get(user=people["stranger"], tenant=tenant)
    me = Membership.objects.get(user=people["owner"], tenant=tenant)

    refused = admin.patch(f"/api/v1/members/{stranger.pk}/", {"role": "owner"}, content_type="application/json")
    assert refused.status_code == 403
    last = owner.patch(f"/api/v1/members/{me.pk}/", {"role": "member"}, content_type="application/json")
    assert last.status_code == 409
    assert error_of(last)["code"] == "last_owner"
    same = owner.patch(f"/api/v1/members/{stranger.pk}/", {"role": "member"}, content_type="application/json")
    assert same.status_code == 409
    assert error_of(same)["code"] == "conflict"
    made = owner.patch(f"/api/v1/members/{stranger.pk}/", {"role": "owner"}, content_type="application/json")
    assert made.status_code == 200
    assert made.json()["role"] == "owner"
