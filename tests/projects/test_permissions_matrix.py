"""The permission matrix, through the pages: owner, admin, members holding manage / change / view, a member with no
grant, a member of another workspace and an anonymous visitor by list, view, edit, move a task, comment, share,
archive, delete — on a private project and on one every member can see.

A refused action changes nothing (no row, no audit entry). Someone who may not even view the project is told it
does not exist (404); someone who may view it but not act is told they may not (403)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from shared_apps.accounts.models import User
from tenant_apps.audit.models import AuditEntry
from tenant_apps.projects.models import Comment, Project, ProjectUserObjectPermission, Task
from tenants.models import Tenant
from tests.conftest import HostClient, client_for
from tests.projects.conftest import Site, signed_in

ACTIONS = ["list", "view", "edit", "move", "comment", "share", "archive", "delete"]
OK, FORBIDDEN, MISSING, NOT_MEMBER, LOGIN = "ok", "403", "404", "not a member", "sign in"

# who → action → outcome, for a PRIVATE project shared with the manager, the editor and the viewer.
PRIVATE: dict[str, dict[str, str]] = {
    "owner": dict.fromkeys(ACTIONS, OK),
    "admin": dict.fromkeys(ACTIONS, OK),
    "manager": dict.fromkeys(ACTIONS, OK),
    "editor": {**dict.fromkeys(ACTIONS, OK), "share": FORBIDDEN, "archive": FORBIDDEN, "delete": FORBIDDEN},
    "viewer": {**dict.fromkeys(ACTIONS, FORBIDDEN), "list": OK, "view": OK},
    "stranger": {**dict.fromkeys(ACTIONS, MISSING), "list": "absent"},
    "outsider": dict.fromkeys(ACTIONS, NOT_MEMBER),
    "anonymous": dict.fromkeys(ACTIONS, LOGIN),
}
# On a project every member sees, a member with no grant views it like a viewer.
WORKSPACE = {**PRIVATE, "stranger": PRIVATE["viewer"]}

CASES = [
    (visibility, who, action, table[who][action])
    for visibility, table in (("private", PRIVATE), ("workspace", WORKSPACE))
    for who in table
    for action in ACTIONS
]


def _request(client: HostClient, action: str, site: Site, people: dict[str, User]) -> Any:
    p, t = site.project.pk, site.task.pk
    requests: dict[str, Callable[[], Any]] = {
        "list": lambda: client.get("/projects/"),
        "view": lambda: client.get(f"/projects/{p}/"),
        "edit": lambda: client.post(f"/projects/{p}/edit/", {"name": "Renamed", "description": "new"}),
        "move": lambda: client.post(f"/projects/{p}/tasks/{t}/move/", {"status": "doing", "position": "0"}),
        "comment": lambda: client.post(f"/projects/{p}/tasks/{t}/comments/", {"body": "Looks good"}),
        "share": lambda: client.post(f"/projects/{p}/sharing/", {f"level-{people['stranger'].pk}": "change"}),
        "archive": lambda: client.post(f"/projects/{p}/archive/"),
        "delete": lambda: client.post(f"/projects/{p}/delete/", {"confirm_name": site.project.name}),
    }
    return requests[action]()


def _state(site: Site) -> tuple[Any, ...]:
    project = Project.objects.filter(pk=site.project.pk).values_list("name", "archived_at").first()
    task = Task.objects.filter(pk=site.task.pk).values_list("status", "position").first()
    return (
        project,
        task,
        Comment.objects.count(),
        ProjectUserObjectPermission.objects.count(),
        AuditEntry.objects.count(),
    )


def _effect_happened(action: str, site: Site, people: dict[str, User]) -> bool:
    project = Project.objects.filter(pk=site.project.pk).first()
    if action == "delete":
        return project is None
    assert project is not None
    if action == "edit":
        return project.name == "Renamed"
    if action == "move":
        return Task.objects.get(pk=site.task.pk).status == "doing"
    if action == "comment":
        return Comment.objects.filter(task=site.task, body="Looks good").exists()
    if action == "share":
        return people["stranger"].has_perm("projects.change_project", project)
    if action == "archive":
        return project.archived_at is not None
    return True


@pytest.mark.parametrize(("visibility", "who", "action", "expected"), CASES)
def test_matrix(
    visibility: str,
    who: str,
    action: str,
    expected: str,
    tenant: Tenant,
    in_tenant: Any,
    people: dict[str, User],
    outsider: User,
    request: pytest.FixtureRequest,
) -> None:
    site: Site = request.getfixturevalue(f"{visibility}_site")
    user = {**people, "outsider": outsider, "anonymous": None}[who]
    client = signed_in(tenant, user) if user is not None else client_for(tenant)
    with in_tenant(tenant):
        before = _state(site)

    response = _request(client, action, site, people)

    with in_tenant(tenant):
        if expected == OK:
            if action in ("list", "view"):
                assert response.status_code == 200
                assert site.project.name in response.content.decode()
            else:
                assert response.status_code == 302, response.content[:400]
                assert "/login/" not in response["Location"]
                assert _effect_happened(action, site, people)
                assert AuditEntry.objects.count() > before[-1]  # every change is audited
            return
        if expected == "absent":
            assert response.status_code == 200
            assert site.project.name not in response.content.decode()
        elif expected == LOGIN:
            assert response.status_code == 302
            assert "/login/" in response["Location"]
        elif expected == NOT_MEMBER:
            assert response.status_code == 403
            assert site.project.name.encode() not in response.content
        else:
            assert response.status_code == int(expected), (response.status_code, response.content[:300])
            if expected == MISSING:
                assert site.project.name.encode() not in response.content
        assert _state(site) == before  # nothing changed, nothing recorded
