"""The product's writes: the board's order persists, archived projects are read-only, assignees can see the project,
hostile input gets a clear refusal (never a 500, never a half-done change), and every change is audited."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from billing.plans import Limit
from shared_apps.accounts.models import User
from tenant_apps.audit.models import AuditEntry
from tenant_apps.projects import services
from tenant_apps.projects.models import Comment, Project, Task, TaskStatus
from tenant_apps.projects.permissions import AccessLevel, ProjectNotAllowed
from tenant_apps.projects.services import ProjectInvalid
from tenants.db import connection
from tenants.models import Tenant
from tests.conftest import HostClient
from tests.factories import ProjectFactory
from tests.projects.conftest import Site, signed_in


def column(project: Project, status: str) -> list[str]:
    return list(
        Task.objects.filter(project=project, status=status).order_by("position", "id").values_list("title", flat=True)
    )


@pytest.fixture
def board(tenant: Tenant, in_tenant: Any, people: dict[str, User], private_site: Site) -> Project:
    with in_tenant(tenant):
        Task.objects.filter(project=private_site.project).delete()
        for i, title in enumerate(["A", "B", "C"]):
            Task.objects.create(project=private_site.project, title=title, position=i)
        Task.objects.create(project=private_site.project, title="D", status=TaskStatus.DOING, position=0)
    return private_site.project


def test_moves_reorder_a_column_and_cross_columns_and_the_order_persists(
    tenant: Tenant, in_tenant: Any, people: dict[str, User], board: Project
) -> None:
    editor = people["editor"]
    with in_tenant(tenant):
        task = {t.title: t for t in Task.objects.filter(project=board).select_related("project")}
        services.task_move(task=task["C"], status="todo", position=0, acting_user=editor)
        assert column(board, "todo") == ["C", "A", "B"]
        services.task_move(task=task["A"], status="doing", position=0, acting_user=editor)
        assert column(board, "todo") == ["C", "B"]
        assert column(board, "doing") == ["A", "D"]
        services.task_move(task=task["B"], status="done", position=99, acting_user=editor)  # clamped to the end
        assert column(board, "done") == ["B"]
        services.task_move(task=task["D"], status="doing", position=0, acting_user=editor)
        assert column(board, "doing") == ["D", "A"]
        moves = AuditEntry.objects.filter(action="task.moved")
        assert moves.count() == 4
        assert moves.filter(target_id=str(task["A"].pk)).get().metadata["to"] == "doing"

        with pytest.raises(ProjectInvalid):
            services.task_move(task=task["D"], status="archived", position=0, acting_user=editor)


def test_a_move_over_htmx_answers_with_the_new_board_and_says_what_happened(
    tenant: Tenant, in_tenant: Any, people: dict[str, User], board: Project
) -> None:
    with in_tenant(tenant):
        c = Task.objects.get(project=board, title="C")
    client = signed_in(tenant, people["editor"])

    response = client.post(
        f"/projects/{board.pk}/tasks/{c.pk}/move/", {"status": "doing", "position": "1"}, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="board"' in body
    assert "<html" not in body
    assert "Moved “C” to Doing, position 2." in body
    with in_tenant(tenant):
        assert column(board, "doing") == ["D", "C"]


def test_the_keyboard_buttons_work_without_javascript(
    tenant: Tenant, in_tenant: Any, people: dict[str, User], board: Project
) -> None:
    with in_tenant(tenant):
        b = Task.objects.get(project=board, title="B")
    client = signed_in(tenant, people["editor"])

    response = client.post(f"/projects/{board.pk}/tasks/{b.pk}/move/", {"status": "todo", "position": "0"})

    assert response.status_code == 302
    assert response["Location"].endswith(f"/projects/{board.pk}/#task-{b.pk}")
    with in_tenant(tenant):
        assert column(board, "todo") == ["B", "A", "C"]


def test_adding_a_task_over_htmx_puts_it_at_the_bottom_of_to_do(
    tenant: Tenant, in_tenant: Any, people: dict[str, User], board: Project
) -> None:
    client = signed_in(tenant, people["editor"])
    response = client.post(f"/projects/{board.pk}/tasks/new/", {"title": "E", "status": "todo"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "Added “E” to To do." in response.content.decode()
    with in_tenant(tenant):
        assert column(board, "todo") == ["A", "B", "C", "E"]

    refused = client.post(f"/projects/{board.pk}/tasks/new/", {"title": " ", "status": "todo"}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 200  # htmx swaps only 2xx: the error shows next to the field
    assert "This field is required." in refused.content.decode()


def test_an_archived_project_is_read_only_until_restored(
    tenant: Tenant, in_tenant: Any, people: dict[str, User], board: Project
) -> None:
    with in_tenant(tenant):
        services.project_archive(project=board, acting_user=people["manager"])
        a = Task.objects.select_related("project").get(project=board, title="A")
        for who in ("editor", "manager", "owner"):
            with pytest.raises(ProjectNotAllowed, match="archived"):
                services.task_move(task=a, status="done", position=0, acting_user=people[who])
            with pytest.raises(ProjectNotAllowed):
                services.comment_create(task=a, body="hi", acting_user=people[who])
    client = signed_in(tenant, people["editor"])
    assert (
        client.post(f"/projects/{board.pk}/tasks/{a.pk}/move/", {"status": "done", "position": "0"}).status_code == 403
    )
    assert b"Archived" in client.get("/projects/?show=archived").content
    assert b"Secret launch" not in client.get("/projects/").content

    with in_tenant(tenant):
        services.project_restore(project=board, acting_user=people["manager"])
        a = Task.objects.select_related("project").get(pk=a.pk)
        services.task_move(task=a, status="done", position=0, acting_user=people["editor"])


def test_tasks_are_assigned_only_to_members_who_can_see_the_project(
    tenant: Tenant, in_tenant: Any, people: dict[str, User], outsider: User, board: Project
) -> None:
    client = signed_in(tenant, people["editor"])
    with in_tenant(tenant):
        a = Task.objects.get(project=board, title="A")
    url = f"/projects/{board.pk}/tasks/{a.pk}/"
    form = {"title": "A", "description": "", "status": "todo", "due_date": "2030-01-31", "version": str(a.version)}

    page = client.get(url).content.decode()
    assert "Vi Viewer" in page  # may view: assignable
    assert "Stan Stranger" not in page  # a member who can't see this private project

    refused = client.post(url, {**form, "assignee": str(people["stranger"].pk)})
    assert refused.status_code == 400
    refused = client.post(url, {**form, "assignee": str(outsider.pk)})
    assert refused.status_code == 400
    assert client.post(url, {**form, "assignee": str(people["viewer"].pk)}).status_code == 302
    with in_tenant(tenant):
        a.refresh_from_db()
        assert (a.assignee_id, a.due_date) == (people["viewer"].pk, dt.date(2030, 1, 31))
    assert "A" in signed_in(tenant, people["viewer"]).get("/").content.decode()  # "assigned to you" on home


@pytest.mark.parametrize(
    ("path", "data", "message"),
    [
        ("/projects/new/", {"name": "x\x00y", "visibility": "workspace"}, "Null characters are not allowed."),
        ("/projects/new/", {"name": "x" * 100_000, "visibility": "workspace"}, "at most 120 characters"),
        ("/projects/new/", {"name": "line\nbreak", "visibility": "workspace"}, "control characters"),
        ("/projects/new/", {"name": "ok", "description": "bell\x07", "visibility": "workspace"}, "control characters"),
        ("/projects/new/", {"name": "ok", "visibility": "everyone"}, "Select a valid choice"),
        ("{task}", {"title": "t", "status": "todo", "due_date": "9999-12-31"}, "between 2000 and 2100"),
        ("{task}", {"title": "t", "status": "todo", "due_date": "99999-01-01"}, "Enter a valid date"),
        ("{task}", {"title": "t", "status": "todo", "assignee": "9" * 40}, "Select a valid choice"),
        ("{task}", {"title": "a\u2028b", "status": "todo"}, "control characters"),
        ("{task}", {"title": "t", "status": "todo", "version": "0", "labels": "9" * 40}, "Select a valid choice"),
        ("{task}", {"title": "t", "status": "todo", "version": "9" * 40}, "Ensure this value is less than"),
        ("{task}", {"title": "t", "status": "todo", "version": "\x00"}, "Enter a whole number"),
        ("{comments}", {"body": "\x00"}, "Null characters are not allowed."),
        ("{comments}", {"body": "b" * 20_000}, "at most 10000 characters"),
    ],
)
def test_hostile_input_is_refused_next_to_its_field_and_nothing_changes(
    path: str,
    data: dict[str, str],
    message: str,
    tenant: Tenant,
    in_tenant: Any,
    people: dict[str, User],
    board: Project,
) -> None:
    with in_tenant(tenant):
        a = Task.objects.get(project=board, title="A")
        before = (Project.objects.count(), AuditEntry.objects.count(), Comment.objects.count())
    path = path.format(
        task=f"/projects/{board.pk}/tasks/{a.pk}/", comments=f"/projects/{board.pk}/tasks/{a.pk}/comments/"
    )

    response = signed_in(tenant, people["manager"]).post(path, data)

    assert response.status_code in (200, 400)
    assert message in response.content.decode()
    with in_tenant(tenant):
        assert (Project.objects.count(), AuditEntry.objects.count(), Comment.objects.count()) == before


def test_hostile_ids_positions_and_levels_are_refused_without_a_500(
    tenant: Tenant, in_tenant: Any, people: dict[str, User], board: Project
) -> None:
    client = signed_in(tenant, people["manager"])
    with in_tenant(tenant):
        a = Task.objects.get(project=board, title="A")
        before = AuditEntry.objects.count()
    huge = "9" * 30

    assert client.get(f"/projects/{huge}/").status_code == 404
    assert client.get(f"/projects/{board.pk}/tasks/{huge}/").status_code == 404
    assert client.get(f"/projects/{board.pk}/tasks/{a.pk}/comments/{huge}/edit/").status_code == 404
    for position in (huge, "-1", "x", "\x00"):
        moved = client.post(f"/projects/{board.pk}/tasks/{a.pk}/move/", {"status": "doing", "position": position})
        assert moved.status_code == 302
        htmx = client.post(
            f"/projects/{board.pk}/tasks/{a.pk}/move/",
            {"status": "doing", "position": position},
            HTTP_HX_REQUEST="true",
        )
        assert htmx.status_code == 400
        assert htmx.content == b"Say where the task goes."
    for field, value in ((f"level-{people['stranger'].pk}", "owner"), (f"level-{huge}", "view"), ("level-x", "view")):
        assert client.post(f"/projects/{board.pk}/sharing/", {field: value}).status_code == 302
    assert client.get("/projects/?q=" + "%00" * 5 + "a" * 5000 + "&show=\x00&page=" + huge).status_code == 200
    with in_tenant(tenant):
        assert AuditEntry.objects.count() == before
        assert Task.objects.get(pk=a.pk).status == "todo"


def test_only_its_author_edits_a_comment_and_the_edit_is_marked(
    tenant: Tenant, in_tenant: Any, people: dict[str, User], private_site: Site
) -> None:
    url = f"/projects/{private_site.project.pk}/tasks/{private_site.task.pk}/comments/{private_site.comment.pk}/edit/"
    assert signed_in(tenant, people["manager"]).post(url, {"body": "hijacked"}).status_code == 403
    assert signed_in(tenant, people["owner"]).post(url, {"body": "Second thoughts"}).status_code == 302
    with in_tenant(tenant):
        comment = Comment.objects.get(pk=private_site.comment.pk)
        assert comment.body == "Second thoughts"
        assert comment.edited_at is not None
        assert AuditEntry.objects.filter(action="comment.edited").count() == 1


def test_sharing_refuses_non_members_and_ones_own_level(
    tenant: Tenant, in_tenant: Any, people: dict[str, User], outsider: User, private_site: Site
) -> None:
    with in_tenant(tenant):
        with pytest.raises(ProjectInvalid, match="members of this workspace"):
            services.project_share(
                project=private_site.project,
                levels={outsider.pk: AccessLevel.VIEW},
                acting_user=people["manager"],
            )
        with pytest.raises(ProjectInvalid, match="your own access"):
            services.project_share(
                project=private_site.project, levels={people["manager"].pk: None}, acting_user=people["manager"]
            )
        with pytest.raises(ProjectNotAllowed):
            services.project_share(
                project=private_site.project,
                levels={people["stranger"].pk: AccessLevel.VIEW},
                acting_user=people["editor"],
            )


def test_deleting_asks_for_the_projects_name(
    tenant: Tenant, in_tenant: Any, people: dict[str, User], private_site: Site
) -> None:
    client = signed_in(tenant, people["manager"])
    page = client.get(f"/projects/{private_site.project.pk}/delete/").content.decode()
    assert "1 task and 1 comment" in page

    refused = client.post(f"/projects/{private_site.project.pk}/delete/", {"confirm_name": "secret launch"})
    assert refused.status_code == 200
    assert "Type the project&#x27;s name" in refused.content.decode()
    with in_tenant(tenant):
        assert Project.objects.filter(pk=private_site.project.pk).exists()


def test_the_welcome_project_is_made_by_a_task_that_knows_only_the_schema(tenant: Tenant, owner: User) -> None:
    """tenant-schemas-celery switches a worker's connection by schema name alone (a FakeTenant, no id)."""
    connection.set_schema(tenant.schema_name)
    try:
        project = services.welcome_project_ensure(acting_user=owner)
        assert User.objects.get(pk=owner.pk).has_perm("projects.manage_project", project)
    finally:
        connection.set_schema_to_public()


def test_the_plans_project_limit_is_refused_with_its_reason(
    tenant: Tenant, tenant_client: HostClient, owner: User, in_tenant: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Billing's one entitlement check: on a plan with 3 projects (a hard limit), the fourth is refused with the
    plan's words, on the page as in the service, and nothing is made."""

    monkeypatch.setattr(
        "billing.entitlements.limit_for", lambda tenant_id, resource, plan_code=None: (Limit(3), "Free")
    )
    with in_tenant(tenant):
        for i in range(3):
            ProjectFactory.create(name=f"P{i}")
    tenant_client.force_login(owner)

    response = tenant_client.post("/projects/new/", {"name": "One too many", "visibility": "workspace"})

    assert response.status_code == 200
    assert "The Free plan includes 3 projects and 3 are in use." in response.content.decode()
    with in_tenant(tenant):
        assert not Project.objects.filter(name="One too many").exists()
