"""What the product's pages and writes cost does not grow with the data: the same number of queries at 1 project,
1 grant and 1 task as at 300 projects, 50 grants and 200 tasks; sharing with 20 people costs what sharing with one
does. And the permission-aware list is one query."""

from __future__ import annotations

from typing import Any

import pytest
from django.test.utils import CaptureQueriesContext

from shared_apps.accounts.models import Role, User
from tenant_apps.audit.models import AuditEntry
from tenant_apps.projects import selectors, services
from tenant_apps.projects.models import Comment, Project, ProjectUserObjectPermission, Task, TaskStatus, Visibility
from tenant_apps.projects.permissions import AccessLevel, ProjectAccess, Viewer, permission_ids
from tenants.db import connection
from tenants.models import Tenant
from tests.conftest import HostClient
from tests.factories.people import add_members
from tests.projects.conftest import Site, signed_in


def queries_for(client: HostClient, path: str) -> list[str]:
    client.get(path)  # warm the routing cache
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return [q["sql"] for q in queries.captured_queries]


def grow(tenant: Tenant, site: Site, people: dict[str, User]) -> None:
    """To 300 projects (the manager holds manage on each), 50 grants on the site's project, 200 tasks on its board
    (assigned, commented), from the 1 / 1 / 1 the site starts with."""
    members = [m.user for m in add_members(tenant, 49, prefix="grown")]
    projects = Project.objects.bulk_create(
        Project(name=f"Grown {i:03d}", visibility=Visibility.PRIVATE if i % 2 else Visibility.WORKSPACE)
        for i in range(299)
    )
    permission_ids = dict(
        ProjectUserObjectPermission.objects.values_list("permission__codename", "permission_id").distinct()
    )
    ProjectUserObjectPermission.objects.bulk_create(
        ProjectUserObjectPermission(user=people["manager"], content_object=p, permission_id=permission_ids[c])
        for p in projects
        for c in ("view_project", "change_project", "manage_project")
    )
    ProjectUserObjectPermission.objects.bulk_create(
        ProjectUserObjectPermission(user=u, content_object=site.project, permission_id=permission_ids["view_project"])
        for u in members
    )
    statuses = list(TaskStatus)
    tasks = Task.objects.bulk_create(
        Task(
            project=site.project,
            title=f"Grown task {i}",
            status=statuses[i % 3],
            position=i + 1,
            assignee=members[i % len(members)],
        )
        for i in range(199)
    )
    Comment.objects.bulk_create(Comment(task=t, author=members[0], body="grown") for t in tasks)
    Comment.objects.bulk_create(Comment(task=site.task, author=m, body="grown") for m in members)


PAGES = [
    "/",
    "/projects/",
    "/projects/?show=all&q=e&visibility=private",
    "/projects/{p}/",
    "/projects/{p}/edit/",
    "/projects/{p}/sharing/",
    "/projects/{p}/tasks/{t}/",
]


@pytest.mark.parametrize("who", ["manager", "viewer", "owner"])
def test_every_page_costs_the_same_queries_at_1_and_300_projects(
    who: str, tenant: Tenant, in_tenant: Any, people: dict[str, User], private_site: Site
) -> None:
    with in_tenant(tenant):
        Task.objects.filter(pk=private_site.task.pk).update(assignee=people[who])  # "assigned to you" has a row
    client = signed_in(tenant, people[who])
    p, t = private_site.project.pk, private_site.task.pk
    paths = [path.format(p=p, t=t) for path in PAGES]
    if who == "viewer":
        paths = [path for path in paths if not path.endswith(("/edit/", "/sharing/"))]
    small = {path: queries_for(client, path) for path in paths}

    with in_tenant(tenant):
        grow(tenant, private_site, people)
        assert Project.objects.count() == 300
        assert ProjectUserObjectPermission.objects.filter(content_object=private_site.project).count() >= 50
        assert Task.objects.filter(project=private_site.project).count() == 200
    large = {path: queries_for(client, path) for path in paths}

    for path in paths:
        assert len(large[path]) == len(small[path]), (path, len(small[path]), len(large[path]), large[path])


def test_the_list_of_a_members_projects_and_its_permission_checks_are_one_query_whatever_the_grants(
    tenant: Tenant, in_tenant: Any, people: dict[str, User], private_site: Site
) -> None:
    with in_tenant(tenant):
        grow(tenant, private_site, people)
        permission_ids()  # read once per process (public schema, like content types)
        for who in ("manager", "viewer", "stranger", "owner"):
            viewer = Viewer(user=people[who], role="owner" if who == "owner" else Role.MEMBER)
            with CaptureQueriesContext(connection) as queries:
                projects = list(selectors.project_list_for_user(viewer)[:50])
                for project in projects:
                    project.created_by  # noqa: B018 (selected with it)
                    project.open_task_count  # type: ignore[attr-defined]  # noqa: B018
            assert len(queries) == 1, (who, [q["sql"] for q in queries.captured_queries])
            with CaptureQueriesContext(connection) as queries:
                access = ProjectAccess(viewer).prefetch(projects)
                for project in projects:
                    access.permissions(project)
                    access.level(project)
            assert len(queries) == 0  # the list carried the viewer's grants on each project


def test_the_list_holds_exactly_what_each_person_may_view(
    tenant: Tenant, in_tenant: Any, people: dict[str, User], private_site: Site
) -> None:
    with in_tenant(tenant):
        grow(tenant, private_site, people)
        everything = set(Project.objects.values_list("pk", flat=True))
        open_to_all = set(Project.objects.filter(visibility=Visibility.WORKSPACE).values_list("pk", flat=True))

        def visible(who: str, role: str = Role.MEMBER) -> set[int]:
            return {p.pk for p in selectors.project_list_for_user(Viewer(user=people[who], role=role))}

        assert visible("owner", Role.OWNER) == everything
        assert visible("admin", Role.ADMIN) == everything
        assert visible("manager") == everything  # manage on every project
        assert visible("viewer") == open_to_all | {private_site.project.pk}
        assert visible("stranger") == open_to_all
        assert visible("stranger", role=None) == set()  # type: ignore[arg-type]


def test_the_compiled_page_is_the_lists_page_for_everyone_and_one_query(
    tenant: Tenant, in_tenant: Any, people: dict[str, User], private_site: Site
) -> None:
    """`project_page_for_user` compiles one statement per shape and binds the viewer's id: each person still gets
    exactly their own page (never the page of whoever compiled the statement), at every offset, in one query."""
    with in_tenant(tenant):
        grow(tenant, private_site, people)
        permission_ids()
        cases = [("stranger", Role.MEMBER), ("viewer", Role.MEMBER), ("manager", Role.MEMBER), ("owner", Role.OWNER)]
        for _round in range(2):  # the first round compiles, the second reuses
            for who, role in cases:
                viewer = Viewer(user=people[who], role=role)
                for offset, limit in [(0, 50), (3, 7), (0, 1)]:
                    expected = list(selectors.project_list_for_user(viewer)[offset : offset + limit])
                    with CaptureQueriesContext(connection) as queries:
                        page = selectors.project_page_for_user(viewer, offset=offset, limit=limit)
                        creators = [p.created_by and p.created_by.get_full_name() for p in page]
                    assert len(queries) == 1, (who, offset, limit)
                    assert [p.pk for p in page] == [p.pk for p in expected], (who, offset, limit)
                    assert creators == [p.created_by and p.created_by.get_full_name() for p in expected]
                    assert [p.open_task_count for p in page] == [p.open_task_count for p in expected]  # type: ignore[attr-defined]
                    access, reference = ProjectAccess(viewer).prefetch(page), ProjectAccess(viewer).prefetch(expected)
                    assert [access.level(p) for p in page] == [reference.level(p) for p in expected], who
        viewer = Viewer(user=people["viewer"], role=Role.MEMBER)
        with CaptureQueriesContext(connection) as queries:
            page = selectors.project_page_for_user(viewer, limit=5)
        assert "password" not in queries.captured_queries[0]["sql"]  # a list never reads password hashes
        assert selectors.project_page_for_user(viewer, limit=0) == []
        searched = selectors.project_page_for_user(viewer, search=page[0].name, limit=50)
        assert page[0].pk in {p.pk for p in searched}


def test_the_board_is_two_queries_with_assignees_labels_and_comment_counts(
    tenant: Tenant, in_tenant: Any, people: dict[str, User], private_site: Site
) -> None:
    with in_tenant(tenant):
        grow(tenant, private_site, people)
        with CaptureQueriesContext(connection) as queries:
            columns = selectors.board_columns(private_site.project)
            names = [t.assignee.get_full_name() for c in columns.values() for t in c if t.assignee]
            counts = sum(t.comment_count for c in columns.values() for t in c)  # type: ignore[attr-defined]
            labels = [label.name for c in columns.values() for t in c for label in t.labels.all()]
    assert len(queries) == 2  # the tasks with their assignees and counts, then every task's labels at once
    assert labels == []
    assert len(names) == 199
    assert counts == 199 + 1 + 49


def test_sharing_with_20_people_costs_what_sharing_with_one_does_and_each_gets_an_audit_entry(
    tenant: Tenant, in_tenant: Any, people: dict[str, User], private_site: Site
) -> None:
    members = [m.user for m in add_members(tenant, 21, prefix="share")]
    manager = people["manager"]

    def share(levels: dict[int, AccessLevel | None]) -> int:
        with CaptureQueriesContext(connection) as queries:
            services.project_share(project=private_site.project, levels=levels, acting_user=manager)
        return len(queries)

    connection.set_tenant(tenant)  # stays there, switched (the first share would otherwise pay for the switch)
    Project.objects.exists()
    one = share({members[0].pk: AccessLevel.CHANGE})
    twenty = share({m.pk: AccessLevel.VIEW for m in members[1:]})
    revoke_one = share({members[0].pk: None})
    revoke_twenty = share(dict.fromkeys((m.pk for m in members[1:]), None))

    assert one == twenty
    assert revoke_one == revoke_twenty
    with in_tenant(tenant):
        shared = AuditEntry.objects.filter(action="project.shared", target_id=str(private_site.project.pk))
        unshared = AuditEntry.objects.filter(action="project.unshared", target_id=str(private_site.project.pk))
        assert shared.count() == 21
        assert unshared.count() == 21
        assert {e.metadata["email"] for e in unshared} == {m.email for m in members}
        assert all(e.actor_id == manager.pk for e in shared)
        assert not ProjectUserObjectPermission.objects.filter(user__in=members).exists()
