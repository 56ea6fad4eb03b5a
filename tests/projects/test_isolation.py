"""A workspace's projects, tasks and grants are its own: ids from one workspace are "not found" in another even for
someone who belongs to both; a grant on project 42 in acme is no grant on project 42 in globex; deleting a project
leaves no grant behind for a later project to inherit."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection as django_connection

from shared_apps.accounts.models import Membership, Role, User
from shared_apps.accounts.services import member_leave, member_remove
from tenant_apps.audit.models import AuditEntry
from tenant_apps.projects import services
from tenant_apps.projects.models import Project, ProjectGroupObjectPermission, ProjectUserObjectPermission, Visibility
from tenant_apps.projects.permissions import AccessLevel, ProjectAccess, Viewer
from tenant_apps.projects.selectors import project_list_for_user
from tenants.models import Tenant
from tests.factories import CommentFactory, MembershipFactory, ProjectFactory, TaskFactory
from tests.factories.projects import grant
from tests.projects.conftest import signed_in


@pytest.fixture
def both(tenant: Tenant, other_tenant: Tenant) -> User:
    """A person who is a member of acme and an owner of globex."""
    user = MembershipFactory.create(tenant=tenant, role=Role.MEMBER, user__email="both@example.com").user
    MembershipFactory.create(tenant=other_tenant, role=Role.OWNER, user=user)
    return user


def test_ids_from_one_workspace_are_not_found_in_another_even_for_someone_in_both(
    tenant: Tenant, other_tenant: Tenant, in_tenant: Any, both: User
) -> None:
    with in_tenant(tenant):
        project = ProjectFactory.create(name="Acme only", visibility=Visibility.WORKSPACE)
        task = TaskFactory.create(project=project)
        comment = CommentFactory.create(task=task, author=both)
    acme, globex = signed_in(tenant, both), signed_in(other_tenant, both)
    p, t, c = project.pk, task.pk, comment.pk
    paths = [
        f"/projects/{p}/",
        f"/projects/{p}/edit/",
        f"/projects/{p}/sharing/",
        f"/projects/{p}/delete/",
        f"/projects/{p}/tasks/{t}/",
        f"/projects/{p}/tasks/{t}/delete/",
        f"/projects/{p}/tasks/{t}/comments/{c}/edit/",
    ]

    assert acme.get(f"/projects/{p}/").status_code == 200
    for path in paths:
        response = globex.get(path)
        assert response.status_code == 404, path
        assert b"Acme only" not in response.content
    for path, data in [
        (f"/projects/{p}/tasks/{t}/move/", {"status": "done", "position": "0"}),
        (f"/projects/{p}/tasks/{t}/comments/", {"body": "hi"}),
        (f"/projects/{p}/archive/", {}),
        (f"/projects/{p}/delete/", {"confirm_name": "Acme only"}),
    ]:
        assert globex.post(path, data).status_code == 404, path
    assert b"Acme only" not in globex.get("/projects/?show=all").content
    with in_tenant(tenant):
        assert Project.objects.filter(pk=p, archived_at__isnull=True).exists()


def test_a_grant_on_project_42_in_acme_is_no_grant_on_project_42_in_globex(
    tenant: Tenant, other_tenant: Tenant, in_tenant: Any, both: User
) -> None:
    MembershipFactory.create(tenant=other_tenant, role=Role.MEMBER, user__email="x@example.com")
    globex_member = both
    # in globex `both` is an owner: make them a plain member there for this test
    globex_member.memberships.filter(tenant=other_tenant).update(role=Role.MEMBER)
    with in_tenant(tenant):
        acme_42 = ProjectFactory.create(id=42, name="Acme 42", visibility=Visibility.PRIVATE)
        grant(both, acme_42, "manage")
    with in_tenant(other_tenant):
        ProjectFactory.create(id=42, name="Globex 42", visibility=Visibility.PRIVATE)  # same id on purpose

    assert signed_in(tenant, both).get("/projects/42/").status_code == 200
    globex = signed_in(other_tenant, both)
    assert globex.get("/projects/42/").status_code == 404
    assert b"Globex 42" not in globex.get("/projects/").content
    with in_tenant(other_tenant):
        viewer = Viewer(user=both, role=Role.MEMBER)
        assert list(project_list_for_user(viewer)) == []
        assert ProjectAccess(viewer).permissions(Project.objects.get(pk=42)) == frozenset()
        assert not User.objects.get(pk=both.pk).has_perm("projects.view_project", Project.objects.get(pk=42))


def test_deleting_a_project_removes_its_grants_and_a_later_project_with_its_id_inherits_none(
    tenant: Tenant, in_tenant: Any, owner: User, member: User
) -> None:
    with in_tenant(tenant):
        project = services.project_create(name="Short-lived", visibility=Visibility.PRIVATE, acting_user=owner)
        services.project_share(project=project, levels={member.pk: AccessLevel.MANAGE}, acting_user=owner)
        project_id = project.pk
        assert ProjectUserObjectPermission.objects.filter(content_object_id=project_id).count() == 6

        services.project_delete(project=project, confirm_name="Short-lived", acting_user=owner)

        assert not ProjectUserObjectPermission.objects.filter(content_object_id=project_id).exists()
        assert not ProjectGroupObjectPermission.objects.filter(content_object_id=project_id).exists()
        reborn = ProjectFactory.create(id=project_id, name="Reborn", visibility=Visibility.PRIVATE)
        assert ProjectAccess(Viewer(user=member, role=Role.MEMBER)).permissions(reborn) == frozenset()
        assert not User.objects.get(pk=member.pk).has_perm("projects.view_project", reborn)


def test_the_grant_tables_are_real_integer_foreign_keys_that_cascade_in_the_database(
    tenant: Tenant, in_tenant: Any
) -> None:
    schema = tenant.schema_name
    with in_tenant(tenant), django_connection.cursor() as cursor:
        for table in ("projects_projectuserobjectpermission", "projects_projectgroupobjectpermission"):
            cursor.execute(
                """
                SELECT a.attname, format_type(a.atttypid, a.atttypmod), c.confdeltype
                FROM pg_constraint c
                JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
                WHERE c.conrelid = %s::regclass AND c.contype = 'f' AND c.confrelid = %s::regclass
                """,
                [f'"{schema}".{table}', f'"{schema}".projects_project'],
            )
            assert cursor.fetchall() == [("content_object_id", "bigint", "c")], table


def test_someone_who_leaves_or_is_removed_takes_no_grant_back_with_them(
    tenant: Tenant, owner: User, in_tenant: Any
) -> None:
    """Grants belong to a member: removing (or leaving) deletes them with the membership, audited; invited again,
    the person starts with nothing."""

    removed = MembershipFactory.create(tenant=tenant, role=Role.MEMBER)
    leaver = MembershipFactory.create(tenant=tenant, role=Role.MEMBER)
    with in_tenant(tenant):
        project = ProjectFactory.create(visibility="private")
        grant(removed.user, project, "change")
        grant(leaver.user, project, "view")

    member_remove(tenant=tenant, membership=removed, acting_user=owner)
    member_leave(tenant=tenant, user=leaver.user)

    assert not Membership.objects.filter(pk__in=[removed.pk, leaver.pk]).exists()
    with in_tenant(tenant):
        assert not ProjectUserObjectPermission.objects.filter(user_id__in=[removed.user_id, leaver.user_id]).exists()
        assert AuditEntry.objects.filter(action="project.unshared").count() == 2
