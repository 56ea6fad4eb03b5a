"""The task page saves as you edit: each save names the task's version the page showed; a save made after someone
else's is refused with a conflict message and changes nothing (never a silent overwrite)."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from shared_apps.accounts.models import Role, User
from tenant_apps.audit.models import AuditEntry
from tenant_apps.projects import services
from tenant_apps.projects.models import Project, Task, Visibility
from tenants.models import Tenant
from tests.conftest import HostClient, client_for
from tests.factories import MembershipFactory, ProjectFactory, TaskFactory
from tests.factories.projects import grant

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


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


@pytest.fixture
def site(tenant: Tenant, in_tenant: Any, owner: User, member: User) -> tuple[Project, Task, Task]:
    with in_tenant(tenant):
        project = ProjectFactory.create(visibility=Visibility.WORKSPACE)
        task = TaskFactory.create(project=project, title="Draft the brief", position=0)
        other = TaskFactory.create(project=project, title="Book the venue", position=1)
        grant(member, project, "change")
    return project, task, other


def _client(tenant: Tenant, user: User) -> HostClient:
    client = client_for(tenant)
    client.force_login(user)
    return client


def test_a_save_as_you_edit_answers_saved_with_the_new_version(
    tenant: Tenant, in_tenant: Any, owner: User, site: tuple[Project, Task, Task]
) -> None:
    project, task, _other = site
    url = reverse("task_detail", args=[project.pk, task.pk])
    client = _client(tenant, owner)

    response = client.post(url, _form(task, description="Two pages, no more."), headers=HTMX)

    assert response.status_code == 200
    text = response.content.decode()
    assert 'data-outcome="saved"' in text
    assert "Saved" in text
    assert f'id="task-version" value="{task.version + 1}" hx-swap-oob="true"' in text
    with in_tenant(tenant):
        task.refresh_from_db()
        assert (task.description, task.version) == ("Two pages, no more.", 1)

    # saving what is stored already changes nothing, not even the version
    again = client.post(url, _form(task), headers=HTMX)
    assert 'data-outcome="saved"' in again.content.decode()
    with in_tenant(tenant):
        assert Task.objects.get(pk=task.pk).version == 1


def test_a_save_made_after_someone_elses_is_refused_and_changes_nothing(
    tenant: Tenant, in_tenant: Any, owner: User, member: User, site: tuple[Project, Task, Task]
) -> None:
    project, task, _other = site
    url = reverse("task_detail", args=[project.pk, task.pk])
    seen = task.version  # both pages were opened at this version
    assert _client(tenant, member).post(url, _form(task, title="Member's title"), headers=HTMX).status_code == 200
    with in_tenant(tenant):
        entries = AuditEntry.objects.count()

    # when: the owner's page, still at the old version, saves
    late = _client(tenant, owner).post(url, _form(task, version=seen, description="Owner's words"), headers=HTMX)

    # then: a conflict, said in the indicator; the member's save stands
    text = late.content.decode()
    assert 'data-outcome="conflict"' in text
    assert "Someone else changed this task while you were editing it." in text
    assert "task-version" not in text
    with in_tenant(tenant):
        task.refresh_from_db()
        assert (task.title, task.description, task.version) == ("Member's title", "", 1)
        assert AuditEntry.objects.count() == entries

    # without JavaScript, the same refusal is a 409 page with the message
    plain = _client(tenant, owner).post(url, _form(task, version=seen, description="Owner's words"))
    assert plain.status_code == 409
    assert "Someone else changed this task" in plain.content.decode()
    with in_tenant(tenant):
        assert Task.objects.get(pk=task.pk).description == ""


def test_moving_the_task_to_another_column_conflicts_but_reordering_its_neighbours_does_not(
    tenant: Tenant, in_tenant: Any, owner: User, member: User, site: tuple[Project, Task, Task]
) -> None:
    project, task, other = site
    url = reverse("task_detail", args=[project.pk, task.pk])
    seen = task.version
    with in_tenant(tenant):
        services.task_move(task=other, status="todo", position=0, acting_user=member)  # renumbers `task` too
    assert (
        'data-outcome="saved"'
        in _client(tenant, owner).post(url, _form(task, title="Still mine"), headers=HTMX).content.decode()
    )

    with in_tenant(tenant):
        task.refresh_from_db()
        seen = task.version
        services.task_move(task=task, status="doing", position=0, acting_user=member)
    refused = _client(tenant, owner).post(url, _form(task, version=seen, status="todo"), headers=HTMX)
    assert 'data-outcome="conflict"' in refused.content.decode()
    with in_tenant(tenant):
        assert Task.objects.get(pk=task.pk).status == "doing"


def test_an_invalid_autosave_says_why_and_changes_nothing(
    tenant: Tenant, in_tenant: Any, owner: User, site: tuple[Project, Task, Task]
) -> None:
    project, task, _other = site
    url = reverse("task_detail", args=[project.pk, task.pk])

    response = _client(tenant, owner).post(url, _form(task, title="", description="kept?"), headers=HTMX)

    text = response.content.decode()
    assert response.status_code == 200  # HTMX swaps 2xx answers only: the words carry the refusal
    assert 'data-outcome="invalid"' in text
    assert "Not saved:" in text
    with in_tenant(tenant):
        task.refresh_from_db()
        assert (task.title, task.description, task.version) == ("Draft the brief", "", 0)


def test_a_viewer_cannot_autosave(
    tenant: Tenant, in_tenant: Any, owner: User, site: tuple[Project, Task, Task]
) -> None:
    project, task, _other = site
    viewer = MembershipFactory.create(tenant=tenant, role=Role.MEMBER, user__email="vera@acme.test").user
    url = reverse("task_detail", args=[project.pk, task.pk])

    response = _client(tenant, viewer).post(url, _form(task, title="Hijacked"), headers=HTMX)

    assert response.status_code == 403
    with in_tenant(tenant):
        assert Task.objects.get(pk=task.pk).title == "Draft the brief"
