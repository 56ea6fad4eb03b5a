"""The API's writes beyond the basic resources — sharing, removing members, leaving, handing over ownership, deleting
comments — go through the pages' services (same rules, same audit entries); every entry written under a key names
the key; and wrong keys are throttled per client address."""

from __future__ import annotations

from typing import Any

import pytest

from shared_apps.accounts.models import ApiKey, Membership, Role, User
from shared_apps.core import ratelimit
from tenant_apps.api import authentication
from tenant_apps.audit.models import AuditEntry
from tenant_apps.projects.models import Comment, Project
from tenant_apps.projects.permissions import ProjectAccess, Viewer
from tenants.models import Tenant
from tests.api.conftest import error_of, key_for, with_key
from tests.conftest import HostClient, client_for, host_of
from tests.factories import CommentFactory
from tests.projects.conftest import Site, signed_in

JSON = "application/json"


def sharing(project: Project) -> str:
    return f"/api/v1/projects/{project.pk}/sharing/"


def membership(tenant: Tenant, user: User) -> Membership:
    return Membership.objects.get(tenant=tenant, user=user)


# --- sharing -------------------------------------------------------------------------------------------------------


def test_a_manager_shares_and_unshares_and_the_grantee_sees_the_project_come_and_go(
    tenant: Tenant, in_tenant: Any, people: dict[str, User], private_site: Site
) -> None:
    manager = with_key(tenant, key_for(tenant, people["manager"]))
    stranger = with_key(tenant, key_for(tenant, people["stranger"]))
    project_url = f"/api/v1/projects/{private_site.project.pk}/"
    assert stranger.get(project_url).status_code == 404

    shared = manager.patch(
        sharing(private_site.project),
        {"grants": [{"user": people["stranger"].pk, "level": "view"}]},
        content_type=JSON,
    )

    assert shared.status_code == 200, shared.content
    rows = {m["user"]["email"]: m for m in shared.json()["members"]}
    assert rows["stranger@acme.test"]["level"] == "view"
    assert rows["stranger@acme.test"]["permissions"] == ["view"]
    assert rows["manager@acme.test"]["editable"] is False  # one's own level is not one's to change
    assert rows["owner@acme.test"]["editable"] is False  # owners and admins hold everything anyway
    assert stranger.get(project_url).json()["permissions"] == ["view"]

    revoked = manager.patch(
        sharing(private_site.project), {"grants": [{"user": people["stranger"].pk, "level": None}]}, content_type=JSON
    )
    assert revoked.status_code == 200
    assert stranger.get(project_url).status_code == 404
    with in_tenant(tenant):
        actions = list(
            AuditEntry.objects.filter(
                target_type="projects.project", target_id=str(private_site.project.pk)
            ).values_list("action", flat=True)
        )
    assert sorted(actions) == ["project.shared", "project.unshared"]


def test_sharing_refuses_ones_own_level_non_members_and_bad_levels_and_changes_nothing(
    tenant: Tenant, other_tenant: Tenant, in_tenant: Any, people: dict[str, User], outsider: User, private_site: Site
) -> None:
    manager = with_key(tenant, key_for(tenant, people["manager"]))
    url = sharing(private_site.project)
    before = manager.get(url).json()

    for body in (
        {"grants": [{"user": people["manager"].pk, "level": "view"}]},  # oneself
        {"grants": [{"user": outsider.pk, "level": "view"}]},  # globex's owner: not a member here
        {"grants": [{"user": people["stranger"].pk, "level": "own"}]},
        {"grants": [{"user": 2**63, "level": "view"}]},
        {"grants": "everyone"},
        {"visibility": "public"},
        # all or nothing: a valid grant next to a refused visibility is not kept either
        {"grants": [{"user": people["stranger"].pk, "level": "view"}], "visibility": "nobody"},
    ):
        response = manager.patch(url, body, content_type=JSON)
        assert response.status_code == 400, (body, response.content)
        error_of(response)
    assert manager.get(url).json() == before
    with in_tenant(tenant):
        assert not AuditEntry.objects.filter(action__startswith="project.").exists()


def test_the_visibility_switch_and_grants_go_together_in_one_request(
    tenant: Tenant, in_tenant: Any, people: dict[str, User], private_site: Site
) -> None:
    owner = with_key(tenant, key_for(tenant, people["owner"]))

    response = owner.patch(
        sharing(private_site.project),
        {"visibility": "workspace", "grants": [{"user": people["stranger"].pk, "level": "change"}]},
        content_type=JSON,
    )

    assert response.status_code == 200
    assert response.json()["visibility"] == "workspace"
    with in_tenant(tenant):
        project = Project.objects.get(pk=private_site.project.pk)
        held = ProjectAccess(Viewer(user=people["stranger"], role=Role.MEMBER)).permissions(project)
        assert {p.value for p in held} == {"view_project", "change_project"}
        assert AuditEntry.objects.filter(action="project.visibility_changed").count() == 1


# --- members -------------------------------------------------------------------------------------------------------


def test_an_admin_removes_a_member_whose_key_then_stops_working(
    tenant: Tenant, in_tenant: Any, people: dict[str, User]
) -> None:
    admin = with_key(tenant, key_for(tenant, people["admin"]))
    doomed = with_key(tenant, key_for(tenant, people["stranger"]))
    assert doomed.get("/api/v1/me/").status_code == 200

    response = admin.delete(f"/api/v1/members/{membership(tenant, people['stranger']).pk}/")

    assert response.status_code == 204
    assert not Membership.objects.filter(tenant=tenant, user=people["stranger"]).exists()
    assert doomed.get("/api/v1/me/").status_code == 401
    with in_tenant(tenant):
        assert AuditEntry.objects.filter(action="member.removed", target_id=str(people["stranger"].pk)).exists()


def test_removal_follows_the_pages_rules(tenant: Tenant, people: dict[str, User]) -> None:
    admin = with_key(tenant, key_for(tenant, people["admin"]))
    owner_row = membership(tenant, people["owner"])
    admin_row = membership(tenant, people["admin"])

    assert admin.delete(f"/api/v1/members/{owner_row.pk}/").status_code == 403  # only owners remove owners
    itself = admin.delete(f"/api/v1/members/{admin_row.pk}/")
    assert itself.status_code == 409  # oneself: that is leaving
    assert admin.delete("/api/v1/members/999999999/").status_code == 404
    assert Membership.objects.filter(pk__in=[owner_row.pk, admin_row.pk]).count() == 2


def test_a_member_leaves_by_api_and_the_last_owner_cannot(
    tenant: Tenant, in_tenant: Any, people: dict[str, User]
) -> None:
    viewer = with_key(tenant, key_for(tenant, people["viewer"]))
    owner = with_key(tenant, key_for(tenant, people["owner"]))

    assert viewer.post("/api/v1/members/leave/").status_code == 204
    assert viewer.get("/api/v1/me/").status_code == 401
    last = owner.post("/api/v1/members/leave/")
    assert last.status_code == 409
    assert error_of(last)["code"] == "last_owner"
    assert Membership.objects.filter(tenant=tenant, user=people["owner"], role=Role.OWNER).exists()
    with in_tenant(tenant):
        assert AuditEntry.objects.filter(action="member.left").count() == 1


def test_the_owner_hands_the_workspace_over_and_becomes_an_admin(
    tenant: Tenant, in_tenant: Any, people: dict[str, User]
) -> None:
    owner = with_key(tenant, key_for(tenant, people["owner"]))
    admin = with_key(tenant, key_for(tenant, people["admin"]))
    target = membership(tenant, people["editor"])

    assert admin.post(f"/api/v1/members/{target.pk}/transfer-ownership/").status_code == 403
    response = owner.post(f"/api/v1/members/{target.pk}/transfer-ownership/")

    assert response.status_code == 200
    assert response.json()["role"] == "owner"
    assert membership(tenant, people["owner"]).role == Role.ADMIN
    assert owner.get("/api/v1/me/").json()["role"] == "admin"  # the key acts with its member's role as it is now
    again = owner.post(f"/api/v1/members/{target.pk}/transfer-ownership/")
    assert again.status_code == 403
    with in_tenant(tenant):
        assert AuditEntry.objects.filter(action="ownership.transferred").count() == 1


# --- comments ------------------------------------------------------------------------------------------------------


def test_authors_delete_their_comments_and_managers_anyones(
    tenant: Tenant, in_tenant: Any, people: dict[str, User], private_site: Site
) -> None:
    with in_tenant(tenant):
        by_editor = CommentFactory.create(task=private_site.task, author=people["editor"], body="mine")
        by_viewer_once = CommentFactory.create(task=private_site.task, author=people["editor"], body="also mine")
    base = f"/api/v1/projects/{private_site.project.pk}/tasks/{private_site.task.pk}/comments/"
    editor = with_key(tenant, key_for(tenant, people["editor"]))
    manager = with_key(tenant, key_for(tenant, people["manager"]))

    refused = editor.delete(f"{base}{private_site.comment.pk}/")  # the owner's comment
    assert refused.status_code == 403
    assert editor.delete(f"{base}{by_editor.pk}/").status_code == 204
    assert manager.delete(f"{base}{by_viewer_once.pk}/").status_code == 204
    assert manager.delete(f"{base}{by_viewer_once.pk}/").status_code == 404
    with in_tenant(tenant):
        assert list(Comment.objects.values_list("pk", flat=True)) == [private_site.comment.pk]
        assert AuditEntry.objects.filter(action="comment.deleted").count() == 2


def test_an_archived_projects_comments_stay(
    tenant: Tenant, in_tenant: Any, people: dict[str, User], private_site: Site
) -> None:
    owner = with_key(tenant, key_for(tenant, people["owner"]))
    assert owner.post(f"/api/v1/projects/{private_site.project.pk}/archive/").status_code == 200

    response = owner.delete(
        f"/api/v1/projects/{private_site.project.pk}/tasks/{private_site.task.pk}/comments/{private_site.comment.pk}/"
    )

    assert response.status_code == 403
    with in_tenant(tenant):
        assert Comment.objects.filter(pk=private_site.comment.pk).exists()


# --- which key acted -----------------------------------------------------------------------------------------------


def test_a_task_created_with_a_key_has_an_audit_entry_naming_the_key(
    tenant: Tenant, in_tenant: Any, people: dict[str, User], private_site: Site
) -> None:
    secret = key_for(tenant, people["editor"], name="Importer")
    key = ApiKey.objects.get(user=people["editor"], name="Importer")

    created = with_key(tenant, secret).post(
        f"/api/v1/projects/{private_site.project.pk}/tasks/", {"title": "From the importer"}, content_type=JSON
    )

    assert created.status_code == 201
    with in_tenant(tenant):
        entry = AuditEntry.objects.get(action="task.created", target_id=str(created.json()["id"]))
    assert entry.actor_id == people["editor"].pk
    assert entry.metadata["api_key"] == {"id": key.pk, "prefix": key.prefix}
    assert secret not in str(entry.metadata)


def test_a_browser_sessions_entries_name_no_key_and_one_requests_key_does_not_leak_into_the_next(
    tenant: Tenant, in_tenant: Any, people: dict[str, User], private_site: Site
) -> None:
    path = f"/api/v1/projects/{private_site.project.pk}/tasks/"
    with_key(tenant, key_for(tenant, people["editor"])).post(path, {"title": "by key"}, content_type=JSON)
    session = signed_in(tenant, people["editor"])
    by_session = session.post(path, {"title": "by session"}, content_type=JSON)  # (the test client skips CSRF)

    assert by_session.status_code == 201, by_session.content
    with in_tenant(tenant):
        entries = {e.metadata.get("api_key") is not None: e for e in AuditEntry.objects.filter(action="task.created")}
    assert set(entries) == {True, False}
    assert entries[False].target_id == str(by_session.json()["id"])


# --- guessing keys -------------------------------------------------------------------------------------------------


@pytest.fixture
def five_failures(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(authentication, "KEY_FAILURES_PER_MINUTE", 5)
    monkeypatch.setattr(authentication, "KEY_FAILURES_PER_ADDRESS_PER_MINUTE", 12)
    return 5


def test_wrong_keys_are_throttled_per_address_and_key_and_never_block_a_right_one(
    tenant: Tenant, other_tenant: Tenant, people: dict[str, User], five_failures: int
) -> None:
    """An office behind one NAT: one script's stale key is throttled; its neighbours' keys, right or mistyped, are
    not."""
    stale = with_key(tenant, "atr_" + "x" * 43)
    good_secret = key_for(tenant, people["viewer"])

    for _ in range(five_failures):
        response = stale.get("/api/v1/me/")
        assert response.status_code == 401
        assert error_of(response)["code"] == "authentication_failed"
    throttled = stale.get("/api/v1/me/")

    assert throttled.status_code == 429
    assert error_of(throttled)["code"] == "throttled"
    assert 1 <= int(throttled["Retry-After"]) <= 60
    # a right key from the same address is never blocked
    assert with_key(tenant, good_secret).get("/api/v1/me/").status_code == 200
    # another key mistyped from the same address is counted on its own
    assert with_key(tenant, "atr_" + "q" * 43).get("/api/v1/me/").status_code == 401
    # on every workspace host alike: more hosts do not buy more guesses
    assert with_key(other_tenant, "atr_" + "x" * 43).get("/api/v1/me/").status_code == 429
    # requests without a key (the schema) are not affected
    assert client_for(tenant).get("/api/schema/").status_code == 200


def test_guessing_with_ever_new_keys_hits_the_addresss_own_limit_and_still_no_right_key_is_blocked(
    tenant: Tenant, people: dict[str, User], five_failures: int
) -> None:
    good = with_key(tenant, key_for(tenant, people["viewer"]))
    codes = [with_key(tenant, f"atr_{i:08d}" + "g" * 35).get("/api/v1/me/").status_code for i in range(15)]

    assert codes == [401] * 12 + [429] * 3
    assert good.get("/api/v1/me/").status_code == 200
    elsewhere = HostClient(host_of(tenant), HTTP_AUTHORIZATION="Bearer atr_" + "n" * 43, REMOTE_ADDR="192.0.2.77")
    assert elsewhere.get("/api/v1/me/").status_code == 401  # another address is counted on its own


def test_right_keys_do_not_count_and_the_throttle_ends_with_its_minute(
    tenant: Tenant, people: dict[str, User], five_failures: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = with_key(tenant, key_for(tenant, people["viewer"]))
    wrong = with_key(tenant, "atr_" + "z" * 43)
    for _ in range(30):
        assert good.get("/api/v1/me/").status_code == 200
    for _ in range(five_failures):
        assert wrong.get("/api/v1/me/").status_code == 401
    assert wrong.get("/api/v1/me/").status_code == 429
    assert good.get("/api/v1/me/").status_code == 200

    later = ratelimit._clock() + 60
    monkeypatch.setattr(ratelimit, "_clock", lambda: later)

    assert wrong.get("/api/v1/me/").status_code == 401
