"""Every page of the product renders for the people who may open it, says what to do when empty, and keeps what
was typed when a form is refused."""

from __future__ import annotations

from typing import Any

import pytest

from shared_apps.accounts.models import User
from tenant_apps.audit.models import AuditEntry
from tenant_apps.projects.models import Project, Task, TaskStatus
from tenants.models import Tenant
from tests.projects.conftest import Site, signed_in


def pages(site: Site) -> list[str]:
    p, t, c = site.project.pk, site.task.pk, site.comment.pk
    return [
        "/",
        "/projects/",
        "/projects/?show=archived",
        "/projects/?show=all&q=secret&visibility=private",
        "/projects/new/",
        f"/projects/{p}/",
        f"/projects/{p}/edit/",
        f"/projects/{p}/sharing/",
        f"/projects/{p}/delete/",
        f"/projects/{p}/tasks/{t}/",
        f"/projects/{p}/tasks/{t}/delete/",
        f"/projects/{p}/tasks/{t}/comments/{c}/edit/",
    ]


@pytest.mark.parametrize("who", ["owner", "manager"])
def test_every_page_renders_for_someone_who_manages_the_project(
    who: str, tenant: Tenant, people: dict[str, User], private_site: Site
) -> None:
    client = signed_in(tenant, people[who])
    for path in pages(private_site):
        if path.endswith("/edit/") and "comments" in path and who != "owner":
            continue  # only the author edits a comment
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)


def test_the_home_page_leads_into_projects_and_says_what_to_do_when_there_are_none(tenant: Tenant, owner: User) -> None:
    client = signed_in(tenant, owner)
    body = client.get("/").content.decode()

    assert "No projects yet" in body
    assert 'href="/projects/new/"' in body


def test_the_board_shows_each_column_in_order(
    tenant: Tenant, in_tenant: Any, people: dict[str, User], private_site: Site
) -> None:
    with in_tenant(tenant):
        Task.objects.create(project=private_site.project, title="Second", position=5)
        Task.objects.create(project=private_site.project, title="Doing now", status=TaskStatus.DOING)
    body = signed_in(tenant, people["editor"]).get(f"/projects/{private_site.project.pk}/").content.decode()

    assert body.index("Secret launch task") < body.index("Second") < body.index("Doing now")
    assert "Move to Doing" in body  # the keyboard's way


def test_a_refused_form_keeps_what_was_typed_and_says_why_next_to_the_field(
    tenant: Tenant, in_tenant: Any, owner: User
) -> None:
    client = signed_in(tenant, owner)
    response = client.post("/projects/new/", {"name": "Bad\x07name", "description": "kept", "visibility": "private"})

    assert response.status_code == 200
    body = response.content.decode()
    assert "control characters" in body
    assert "kept" in body
    with in_tenant(tenant):
        assert not Project.objects.exists()


def test_creating_a_project_makes_its_creator_its_manager(
    tenant: Tenant, in_tenant: Any, people: dict[str, User]
) -> None:
    client = signed_in(tenant, people["stranger"])
    response = client.post("/projects/new/", {"name": "Mine", "description": "", "visibility": "private"})

    assert response.status_code == 302
    with in_tenant(tenant):
        project = Project.objects.get(name="Mine")
        assert people["stranger"].has_perm("projects.manage_project", project)  # guardian agrees
        actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"project.created", "project.shared"} <= actions
    assert client.get(f"/projects/{project.pk}/sharing/").status_code == 200
