"""Labels: a workspace's own (its admins manage them), put on tasks from the task page or the API, shown on the
board's cards and filtering it — in a fixed number of queries, and never another workspace's."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection as django_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from shared_apps.accounts.models import User
from tenant_apps.audit.models import AuditEntry
from tenant_apps.projects import services
from tenant_apps.projects.models import Label, Project, Task, Visibility
from tenant_apps.projects.permissions import ProjectNotAllowed
from tenant_apps.projects.services import ProjectInvalid
from tenants.models import Tenant
from tests.api.conftest import key_for, with_key
from tests.conftest import client_for
from tests.factories import ProjectFactory, TaskFactory
from tests.factories.projects import grant

pytestmark = pytest.mark.django_db


def _form(task: Task, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": task.title,
        "description": task.description,
        "status": task.status,
        "assignee": task.assignee_id or "",
        "due_date": "",
        "version": task.version,
    }
    return {**data, **changes}


def test_admins_create_rename_and_delete_labels_and_members_may_not(
    tenant: Tenant, in_tenant: Any, owner: User, member: User
) -> None:
    client = client_for(tenant)
    client.force_login(owner)
    url = reverse("settings_labels")

    assert client.post(url, {"name": " Bug ", "color": "red"}).status_code == 302
    with in_tenant(tenant):
        bug = Label.objects.get()
        assert (bug.name, bug.color) == ("Bug", "red")
        assert AuditEntry.objects.filter(action="label.created").count() == 1
    assert "Bug" in client.get(url).content.decode()

    edit = reverse("settings_label_edit", args=[bug.pk])
    assert client.post(edit, {f"label-{bug.pk}-name": "Defect", f"label-{bug.pk}-color": "orange"}).status_code == 302
    with in_tenant(tenant):
        bug.refresh_from_db()
        assert (bug.name, bug.color) == ("Defect", "orange")

    someone = client_for(tenant)
    someone.force_login(member)
    assert someone.get(url).status_code == 403
    assert someone.post(url, {"name": "Mine", "color": "red"}).status_code == 403
    assert someone.post(reverse("settings_label_delete", args=[bug.pk])).status_code == 403
    with in_tenant(tenant), pytest.raises(ProjectNotAllowed):
        services.label_create(name="Direct", color="red", acting_user=member)

    assert client.post(reverse("settings_label_delete", args=[bug.pk])).status_code == 302
    with in_tenant(tenant):
        assert not Label.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "bug", "color": "red"}, "There is already a label called"),
        ({"name": "BUG ", "color": "blue"}, "There is already a label called"),
        ({"name": "x\x00y", "color": "red"}, "Null characters are not allowed."),
        ({"name": "a\u2028b", "color": "red"}, "control characters"),
        ({"name": "x" * 100_000, "color": "red"}, "at most 40 characters"),
        ({"name": "  ", "color": "red"}, "This field is required."),
        ({"name": "Fine", "color": "#ff0000"}, "Select a valid choice"),
    ],
)
def test_hostile_or_duplicate_labels_are_refused_next_to_the_field_and_nothing_changes(
    data: dict[str, str], message: str, tenant: Tenant, in_tenant: Any, owner: User
) -> None:
    with in_tenant(tenant):
        services.label_create(name="Bug", color="red", acting_user=owner)
        before = (list(Label.objects.values_list("name", "color")), AuditEntry.objects.count())
    client = client_for(tenant)
    client.force_login(owner)

    response = client.post(reverse("settings_labels"), data)

    assert response.status_code == 400
    assert message in response.content.decode()
    with in_tenant(tenant):
        assert (list(Label.objects.values_list("name", "color")), AuditEntry.objects.count()) == before


def test_a_task_gets_labels_on_its_page_and_the_board_shows_and_filters_by_them(
    tenant: Tenant, in_tenant: Any, owner: User, member: User
) -> None:
    with in_tenant(tenant):
        bug = services.label_create(name="Bug", color="red", acting_user=owner)
        design = services.label_create(name="Design", color="purple", acting_user=owner)
        project = ProjectFactory.create(visibility=Visibility.WORKSPACE)
        broken = TaskFactory.create(project=project, title="Broken login")
        TaskFactory.create(project=project, title="New logo")
        grant(member, project, "change")
    client = client_for(tenant)
    client.force_login(member)
    task_url = reverse("task_detail", args=[project.pk, broken.pk])

    assert "label-chip--red" in client.get(task_url).content.decode()  # the picker offers the workspace's labels
    assert client.post(task_url, _form(broken, labels=[bug.pk, design.pk])).status_code == 302

    with in_tenant(tenant):
        assert sorted(broken.labels.values_list("name", flat=True)) == ["Bug", "Design"]
        assert AuditEntry.objects.filter(action="task.updated", metadata__fields=["labels"]).count() == 1
    board = reverse("project_board", args=[project.pk])
    page = client.get(board).content.decode()
    assert '<li class="label-chip label-chip--red">Bug</li>' in page
    filtered = client.get(f"{board}?label={bug.pk}").content.decode()
    assert "Broken login" in filtered
    assert "New logo" not in filtered
    assert "New logo" in client.get(f"{board}?label=99999999999999999999999").content.decode()  # no such id: ignored


def test_a_task_carries_at_most_ten_labels_and_only_its_workspaces(
    tenant: Tenant, other_tenant: Tenant, in_tenant: Any, owner: User
) -> None:
    with in_tenant(other_tenant):
        foreign = Label.objects.create(pk=880_002, name="Globex only", color="green")
    with in_tenant(tenant):
        labels = [Label.objects.create(name=f"L{i}", color="gray") for i in range(11)]
        task = TaskFactory.create(project=ProjectFactory.create())
        with pytest.raises(ProjectInvalid, match="at most 10"):
            services.task_labels_set(task=task, label_ids=[x.pk for x in labels], acting_user=owner)
        assert not Label.objects.filter(pk=foreign.pk).exists()
        with pytest.raises(ProjectInvalid, match="labels of this workspace"):
            services.task_labels_set(task=task, label_ids=[foreign.pk], acting_user=owner)
        assert not task.labels.exists()


def test_workspace_b_labels_are_invisible_and_untouchable_from_a(
    tenant: Tenant, other_tenant: Tenant, in_tenant: Any, owner: User
) -> None:
    with in_tenant(other_tenant):
        theirs = Label.objects.create(pk=880_001, name="Globex secret label", color="pink")
    with in_tenant(tenant):
        project = ProjectFactory.create()
        task = TaskFactory.create(project=project)
    client = client_for(tenant)
    client.force_login(owner)

    assert "Globex secret label" not in client.get(reverse("settings_labels")).content.decode()
    edit = client.post(
        reverse("settings_label_edit", args=[theirs.pk]),
        {f"label-{theirs.pk}-name": "hijacked", f"label-{theirs.pk}-color": "red"},
    )
    assert edit.status_code == 404
    assert client.post(reverse("settings_label_delete", args=[theirs.pk])).status_code == 404
    refused = client.post(reverse("task_detail", args=[project.pk, task.pk]), _form(task, labels=[theirs.pk]))
    assert refused.status_code == 400
    api = with_key(tenant, key_for(tenant, owner))
    assert api.get("/api/v1/labels/").json()["results"] == []
    patched = api.patch(
        f"/api/v1/projects/{project.pk}/tasks/{task.pk}/",
        data=json.dumps({"labels": [theirs.pk]}),
        content_type="application/json",
    )
    assert patched.status_code == 400
    with in_tenant(other_tenant):
        theirs.refresh_from_db()
        assert (theirs.name, theirs.color, theirs.tasks.count()) == ("Globex secret label", "pink", 0)
    with in_tenant(tenant):
        assert not task.labels.exists()


def test_the_api_lists_labels_and_puts_them_on_tasks(tenant: Tenant, in_tenant: Any, owner: User) -> None:
    with in_tenant(tenant):
        bug = services.label_create(name="Bug", color="red", acting_user=owner)
        project = ProjectFactory.create()
        task = TaskFactory.create(project=project)
    api = with_key(tenant, key_for(tenant, owner))
    url = f"/api/v1/projects/{project.pk}/tasks/{task.pk}/"

    assert api.get("/api/v1/labels/").json()["results"] == [{"id": bug.pk, "name": "Bug", "color": "red"}]
    patched = api.patch(url, data=json.dumps({"labels": [bug.pk]}), content_type="application/json")
    assert patched.status_code == 200
    assert patched.json()["labels"] == [{"id": bug.pk, "name": "Bug", "color": "red"}]
    listed = api.get(f"/api/v1/projects/{project.pk}/tasks/?label={bug.pk}").json()["results"]
    assert [t["id"] for t in listed] == [task.pk]
    too_many = api.patch(url, data=json.dumps({"labels": list(range(1, 12))}), content_type="application/json")
    assert too_many.status_code == 400
    assert api.patch(url, data=json.dumps({"labels": []}), content_type="application/json").json()["labels"] == []


def test_the_board_and_the_task_list_cost_the_same_with_many_labelled_cards(
    tenant: Tenant, in_tenant: Any, owner: User, member: User
) -> None:
    with in_tenant(tenant):
        labels = [services.label_create(name=f"L{i}", color="blue", acting_user=owner) for i in range(3)]
        project: Project = ProjectFactory.create(visibility=Visibility.WORKSPACE)
        TaskFactory.create(project=project, assignee=owner).labels.set(labels[:1])
    client = client_for(tenant)
    client.force_login(member)
    api = with_key(tenant, key_for(tenant, owner))
    board = reverse("project_board", args=[project.pk]) + f"?label={labels[0].pk}&assignee={owner.pk}"
    tasks = f"/api/v1/projects/{project.pk}/tasks/"
    client.get(board)
    api.get(tasks)
    with CaptureQueriesContext(django_connection) as one:
        assert client.get(board).status_code == 200
    with CaptureQueriesContext(django_connection) as one_api:
        assert api.get(tasks).status_code == 200
    with in_tenant(tenant):
        for _ in range(20):
            TaskFactory.create(project=project, assignee=owner).labels.set(labels)
    with CaptureQueriesContext(django_connection) as many:
        page = client.get(board)
        assert page.status_code == 200
    with CaptureQueriesContext(django_connection) as many_api:
        assert len(api.get(tasks).json()["results"]) == 21
    assert len(many) == len(one)
    assert len(many_api) == len(one_api)
    assert page.content.decode().count("label-chip--blue") == 21 * 3 - 2
