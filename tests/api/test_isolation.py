"""A workspace's API shows and changes only that workspace, even when the other workspace's objects have the same
ids (each schema numbers its rows from 1, and the rows below are made in the same order on purpose) and even for
someone who belongs to both."""

from __future__ import annotations

from typing import Any

import pytest

from shared_apps.accounts.models import Invitation, Membership, Role, User
from tenant_apps.projects.models import Comment, Project, Task
from tenants.models import Tenant
from tests.api.conftest import error_of, key_for, with_key
from tests.factories import CommentFactory, MembershipFactory, ProjectFactory, TaskFactory

MARKER = "GLOBEX-ONLY-7f3a"
# Explicit ids, the same in both schemas (sequences run on across rolled-back tests, so counting on them would not do).
TWIN_IDS = {"p": 900_001, "t": 900_002, "c": 900_003}


@pytest.fixture
def both(tenant: Tenant, other_tenant: Tenant) -> User:
    user = MembershipFactory.create(tenant=tenant, role=Role.OWNER, user__email="both@example.com").user
    MembershipFactory.create(tenant=other_tenant, role=Role.OWNER, user=user)
    return user


@pytest.fixture
def twins(tenant: Tenant, other_tenant: Tenant, in_tenant: Any, both: User) -> dict[str, dict[str, int]]:
    """The same shape in both workspaces: a project with a task and a comment; globex's carry MARKER."""
    ids: dict[str, dict[str, int]] = {}
    for t, label in ((tenant, "Acme"), (other_tenant, MARKER)):
        with in_tenant(t):
            project = ProjectFactory.create(
                pk=TWIN_IDS["p"], name=f"{label} project", description=label, created_by=both
            )
            task = TaskFactory.create(
                pk=TWIN_IDS["t"], project=project, title=f"{label} task", description=label, position=0
            )
            comment = CommentFactory.create(pk=TWIN_IDS["c"], task=task, author=both, body=f"{label} comment")
        ids[label] = {"p": project.pk, "t": task.pk, "c": comment.pk}
    Invitation.objects.create(
        tenant=other_tenant,
        email="globex-invitee@example.com",
        token_hash="g" * 64,
        invited_by=both,
        expires_at="2100-01-01T00:00:00Z",
    )
    return ids


def test_the_same_ids_mean_each_workspaces_own_objects(
    tenant: Tenant, other_tenant: Tenant, in_tenant: Any, both: User, twins: dict[str, dict[str, int]]
) -> None:
    acme, globex = twins["Acme"], twins[MARKER]
    assert acme == globex  # the same ids on purpose
    api = with_key(tenant, key_for(tenant, both))
    p, t, c = acme["p"], acme["t"], acme["c"]
    for path in (
        "/api/v1/projects/",
        "/api/v1/projects/?show=all",
        f"/api/v1/projects/{p}/",
        f"/api/v1/projects/{p}/tasks/",
        f"/api/v1/projects/{p}/tasks/{t}/",
        f"/api/v1/projects/{p}/tasks/{t}/comments/",
        f"/api/v1/projects/{p}/tasks/{t}/comments/{c}/",
        "/api/v1/members/",
        "/api/v1/invitations/",
        "/api/v1/me/",
    ):
        response = api.get(path)
        assert response.status_code == 200, path
        assert MARKER.encode() not in response.content, path
        assert b"globex" not in response.content.lower(), path
    assert api.get(f"/api/v1/projects/{p}/").json()["name"] == "Acme project"


def test_writes_by_id_change_only_the_callers_workspace(
    tenant: Tenant, other_tenant: Tenant, in_tenant: Any, both: User, twins: dict[str, dict[str, int]]
) -> None:
    api = with_key(tenant, key_for(tenant, both))
    p, t, c = twins["Acme"]["p"], twins["Acme"]["t"], twins["Acme"]["c"]
    json = "application/json"
    assert api.patch(f"/api/v1/projects/{p}/", {"name": "Renamed"}, content_type=json).status_code == 200
    assert api.patch(f"/api/v1/projects/{p}/tasks/{t}/", {"title": "Retitled"}, content_type=json).status_code == 200
    assert (
        api.post(
            f"/api/v1/projects/{p}/tasks/{t}/move/", {"status": "done", "position": 0}, content_type=json
        ).status_code
        == 200
    )
    assert (
        api.patch(f"/api/v1/projects/{p}/tasks/{t}/comments/{c}/", {"body": "Edited"}, content_type=json).status_code
        == 200
    )
    with in_tenant(other_tenant):
        assert Project.objects.get(pk=p).name == f"{MARKER} project"
        assert Task.objects.get(pk=t).title == f"{MARKER} task"
        assert Task.objects.get(pk=t).status == "todo"
        assert Comment.objects.get(pk=c).body == f"{MARKER} comment"
    assert api.delete(f"/api/v1/projects/{p}/").status_code == 204
    with in_tenant(other_tenant):
        assert Project.objects.filter(pk=p).exists()


def test_ids_that_exist_only_in_the_other_workspace_are_not_found(
    tenant: Tenant, other_tenant: Tenant, in_tenant: Any, both: User, twins: dict[str, dict[str, int]]
) -> None:
    with in_tenant(other_tenant):
        extra = ProjectFactory.create(name=f"{MARKER} extra")
        extra_task = TaskFactory.create(project=extra, title=MARKER)
    member_b = Membership.objects.filter(tenant=other_tenant).order_by("-id").first()
    invitation_b = Invitation.objects.get(tenant=other_tenant)
    api = with_key(tenant, key_for(tenant, both))
    for method, path in (
        ("get", f"/api/v1/projects/{extra.pk}/"),
        ("get", f"/api/v1/projects/{extra.pk}/tasks/{extra_task.pk}/"),
        ("patch", f"/api/v1/projects/{extra.pk}/"),
        ("delete", f"/api/v1/projects/{extra.pk}/"),
        ("get", f"/api/v1/members/{member_b.pk}/"),  # type: ignore[union-attr]
        ("patch", f"/api/v1/members/{member_b.pk}/"),  # type: ignore[union-attr]
        ("get", f"/api/v1/invitations/{invitation_b.pk}/"),
        ("delete", f"/api/v1/invitations/{invitation_b.pk}/"),
        ("delete", f"/api/v1/members/{member_b.pk}/"),  # type: ignore[union-attr]
        ("post", f"/api/v1/members/{member_b.pk}/transfer-ownership/"),  # type: ignore[union-attr]
        ("get", f"/api/v1/projects/{extra.pk}/sharing/"),
        ("patch", f"/api/v1/projects/{extra.pk}/sharing/"),
        ("get", f"/api/v1/projects/{extra.pk}/documents/"),
        ("post", f"/api/v1/projects/{extra.pk}/documents/"),
    ):
        body = (
            {"name": "x.pdf", "role": "member", "size": 10, "visibility": "private"}
            if method in {"patch", "post"}
            else None
        )
        response = (
            getattr(api, method)(path, body, content_type="application/json") if body else getattr(api, method)(path)
        )
        assert response.status_code == 404, (method, path, response.content)
        assert error_of(response)["code"] == "not_found"
        assert MARKER.encode() not in response.content
    with in_tenant(other_tenant):
        assert Project.objects.get(pk=extra.pk).visibility == "workspace"  # the factory's, unchanged
    assert Invitation.objects.get(pk=invitation_b.pk).revoked_at is None
    assert Membership.objects.filter(pk=member_b.pk, tenant=other_tenant).exists()  # type: ignore[union-attr]
    assert Membership.objects.filter(tenant=other_tenant, role="owner").count() >= 1


def test_a_comment_with_the_same_ids_in_the_other_workspace_is_not_deleted(
    tenant: Tenant, other_tenant: Tenant, in_tenant: Any, both: User, twins: dict[str, dict[str, int]]
) -> None:
    api = with_key(tenant, key_for(tenant, both))
    p, t, c = twins["Acme"]["p"], twins["Acme"]["t"], twins["Acme"]["c"]

    assert api.delete(f"/api/v1/projects/{p}/tasks/{t}/comments/{c}/").status_code == 204

    with in_tenant(other_tenant):
        assert Comment.objects.get(pk=c).body == f"{MARKER} comment"
    with in_tenant(tenant):
        assert not Comment.objects.filter(pk=c).exists()


def test_a_key_for_one_workspace_cannot_be_used_on_the_other_by_its_own_member(
    tenant: Tenant, other_tenant: Tenant, both: User, twins: dict[str, dict[str, int]]
) -> None:
    acme_key, globex_key = key_for(tenant, both), key_for(other_tenant, both)
    assert with_key(tenant, globex_key).get("/api/v1/projects/").status_code == 401
    assert with_key(other_tenant, acme_key).get("/api/v1/projects/").status_code == 401
    assert MARKER in with_key(other_tenant, globex_key).get("/api/v1/projects/").content.decode()
