"""Tenant A's data is invisible to tenant B: through the ORM, over HTTP, and after savepoint rollbacks."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.test import Client
from guardian.shortcuts import assign_perm, get_perms

from shared_apps.accounts.models import User
from tenant_apps.projects.models import Project
from tenants.db import connection
from tenants.models import Tenant
from tests.conftest import HostClient
from tests.factories import ProjectFactory, UserFactory


def test_data_created_in_one_tenant_is_invisible_in_the_other(tenant: Tenant, other_tenant: Tenant, in_tenant) -> None:
    with in_tenant(tenant):
        ProjectFactory.create(name="Acme roadmap")

    with in_tenant(other_tenant):
        assert Project.objects.count() == 0
    with in_tenant(tenant):
        assert list(Project.objects.values_list("name", flat=True)) == ["Acme roadmap"]


def test_tenant_pages_show_only_their_own_projects(
    tenant: Tenant, other_tenant: Tenant, in_tenant, tenant_client: Client, owner: User, outsider: User
) -> None:
    with in_tenant(tenant):
        ProjectFactory.create(name="Acme secret plan")
    with in_tenant(other_tenant):
        ProjectFactory.create(name="Globex launch")
    other_client = HostClient("globex.localhost")
    tenant_client.force_login(owner)
    other_client.force_login(outsider)

    acme_page = tenant_client.get("/").content
    globex_page = other_client.get("/").content

    assert b"Acme secret plan" in acme_page
    assert b"Globex launch" not in acme_page
    assert b"Globex launch" in globex_page
    assert b"Acme secret plan" not in globex_page


def test_savepoint_rollback_never_exposes_another_tenants_rows(tenant: Tenant, other_tenant: Tenant, in_tenant) -> None:
    """Regression for django-tenants #1262: a SET search_path issued inside a savepoint is undone by the rollback;
    a stale cached path would then read the previous tenant's rows."""
    connection.set_tenant(tenant)
    ProjectFactory.create(name="acme-only")  # the connection's search_path is now acme's

    def switch_inside_a_savepoint_then_fail() -> None:
        with transaction.atomic():
            connection.set_tenant(other_tenant)
            assert Project.objects.count() == 0  # SET search_path to globex, inside the savepoint
            raise RuntimeError("roll back to the savepoint")

    with pytest.raises(RuntimeError):
        switch_inside_a_savepoint_then_fail()

    # the connection still says globex; the database must agree
    assert connection.schema_name == other_tenant.schema_name
    assert not Project.objects.filter(name="acme-only").exists()
    assert Project.objects.count() == 0


def test_nested_savepoint_rollback_then_query_stays_in_the_current_tenant(
    tenant: Tenant, other_tenant: Tenant, in_tenant
) -> None:
    with in_tenant(tenant):
        ProjectFactory.create(name="acme-row")
    connection.set_tenant(other_tenant)
    ProjectFactory.create(name="globex-row")

    def hop_between_tenants_then_fail() -> None:
        with transaction.atomic():
            connection.set_tenant(tenant)
            Project.objects.count()
            connection.set_tenant(other_tenant)
            Project.objects.count()
            raise RuntimeError

    with transaction.atomic():
        with pytest.raises(RuntimeError):
            hop_between_tenants_then_fail()
        names = list(Project.objects.values_list("name", flat=True))

    assert names == ["globex-row"]


def test_object_permissions_are_scoped_to_their_tenant(tenant: Tenant, other_tenant: Tenant, in_tenant) -> None:
    """A permission granted on project N in acme is not a permission on project N in globex."""
    user = UserFactory.create()
    with in_tenant(tenant):
        acme_project = ProjectFactory.create(id=42)
    with in_tenant(other_tenant):
        globex_project = ProjectFactory.create(id=42)  # same id, different schemas: the dangerous case

    with in_tenant(tenant):
        assign_perm("projects.change_project", user, acme_project)
        assert get_perms(user, acme_project) == ["change_project"]

    with in_tenant(other_tenant):
        fresh_user = User.objects.get(pk=user.pk)  # no permission cache carried over
        assert get_perms(fresh_user, globex_project) == []
        assert not fresh_user.has_perm("projects.change_project", globex_project)


def test_content_types_and_permissions_are_global(tenant: Tenant, other_tenant: Tenant, in_tenant) -> None:
    """contenttypes and auth live in the public schema only: one numbering, whatever the current tenant."""
    ct_public = ContentType.objects.get_for_model(Project, for_concrete_model=True).pk
    ContentType.objects.clear_cache()
    with in_tenant(tenant):
        ContentType.objects.clear_cache()
        ct_acme = ContentType.objects.get_for_model(Project).pk
        perm_acme = Permission.objects.get(codename="change_project").pk
    with in_tenant(other_tenant):
        ContentType.objects.clear_cache()
        ct_globex = ContentType.objects.get_for_model(Project).pk
        perm_globex = Permission.objects.get(codename="change_project").pk

    assert ct_public == ct_acme == ct_globex
    assert perm_acme == perm_globex
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_schema FROM information_schema.tables WHERE table_name = 'django_content_type'")
        assert [row[0] for row in cursor.fetchall()] == ["public"]
