"""No tenancy in connection state: every statement for a workspace names its schema, nothing is ever `SET` on the
request path, and the server-side search_path (whatever another client left on a pooled server connection) decides
nothing. The same promise through a real PgBouncer in transaction mode: tests/pooler."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.db import connections, transaction
from django.test import Client, override_settings
from django_tenants.utils import tenant_context

from shared_apps.accounts.models import Role, User
from shared_apps.core import sql
from shared_apps.core.statements import count_statements
from tenant_apps.projects.models import Project, Task
from tenants.checks import pooling_errors
from tenants.db import connection, table_sql
from tenants.models import Tenant
from tenants.postgresql_backend import compiler
from tests.conftest import client_for
from tests.factories import MembershipFactory, ProjectFactory, TaskFactory


def sets(log: Any) -> list[str]:
    return log.matching("search_path")


def _server_path(conn: Any) -> str:
    with conn.cursor() as cursor:
        cursor.execute("SHOW search_path")
        return str(cursor.fetchone()[0])


def bare_tenant_tables(statement: str) -> list[str]:
    """Tenant tables a statement names in FROM / JOIN / INTO / UPDATE without a schema."""
    tenant_tables = [t for t, where in compiler._table_schemas().items() if where == compiler.TENANT]
    found = []
    for table in tenant_tables:
        for match in re.finditer(rf'(FROM|JOIN|INTO|UPDATE)\s+"?{re.escape(table)}"?(\s|$|\()', statement):
            found.append(f"{match.group(1)} {table}")
    return found


@pytest.fixture
def one_project_each(tenant: Tenant, other_tenant: Tenant) -> None:

    with tenant_context(tenant):
        ProjectFactory.create(name="Acme only")
    with tenant_context(other_tenant):
        ProjectFactory.create(name="Globex only")


@pytest.fixture
def both_member(tenant: Tenant, other_tenant: Tenant) -> User:
    user = MembershipFactory.create(tenant=tenant, role=Role.MEMBER).user
    MembershipFactory.create(tenant=other_tenant, user=user, role=Role.MEMBER)
    return user


def test_a_cached_tenant_page_sends_exactly_the_views_statements_each_naming_its_schema(
    tenant: Tenant, tenant_client: Client, owner: User
) -> None:
    tenant_client.force_login(owner)
    tenant_client.get("/")  # warm: route cached

    with count_statements() as log:
        response = tenant_client.get("/")

    assert response.status_code == 200
    # session, user, membership (auth), the projects and the tasks assigned to you: nothing for routing, no SET
    assert len(log) == 5, log.statements
    assert not sets(log)
    assert not log.matching("tenants_")
    tenant_statements = log.matching("projects_")
    assert tenant_statements
    assert all(f'"{tenant.schema_name}"."projects_' in s for s in tenant_statements), tenant_statements
    assert not [bare for s in log.statements for bare in bare_tenant_tables(s)]
    assert all('"public"."' in s for s in log.matching("accounts_user"))


def test_alternating_tenants_on_one_connection_reads_only_each_tenants_rows_and_sets_nothing(
    tenant: Tenant, other_tenant: Tenant, both_member: User, one_project_each: None
) -> None:

    acme, globex = client_for(tenant), client_for(other_tenant)
    acme.force_login(both_member)
    globex.force_login(both_member)
    Project.objects.using("default").none()
    raw_connection = connection.connection

    pages = []
    with count_statements() as log:
        for client in (acme, globex, acme, acme):
            pages.append(client.get("/").content.decode())

    assert connection.connection is raw_connection  # one server session throughout
    assert "Acme only" in pages[0]
    assert "Globex only" not in pages[0]
    assert "Globex only" in pages[1]
    assert "Acme only" not in pages[1]
    assert "Acme only" in pages[2]
    assert "Globex only" not in pages[2]
    assert not sets(log)
    assert _server_path(connection) == '"$user", public'  # the server's default, never changed


def test_a_server_connection_another_client_pointed_at_another_schema_changes_nothing(
    tenant: Tenant, other_tenant: Tenant, both_member: User, one_project_each: None
) -> None:
    """What a transaction pooler does: the next statement runs on a server connection whose session another client
    left with its own search_path. Here the connection itself is pointed at globex, then acme's page is served."""

    acme = client_for(tenant)
    acme.force_login(both_member)
    with connection.cursor() as cursor:
        cursor.execute(f'SET search_path = "{other_tenant.schema_name}", public')  # another client's leftover path

    page = acme.get("/").content.decode()
    with tenant_context(tenant):
        names = list(Project.objects.values_list("name", flat=True))

    assert "Acme only" in page
    assert "Globex only" not in page
    assert "Acme only" in names
    assert "Globex only" not in names


def test_a_query_after_a_failed_nested_atomic_reads_the_current_tenant_only(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    """django-tenants #1262: nested atomic() that raises, then a query, must return only the current tenant's rows."""

    with tenant_context(other_tenant):
        ProjectFactory.create(name="Globex only")
    with tenant_context(tenant):
        ProjectFactory.create(name="Acme only")

        def switch_then_fail() -> None:
            with transaction.atomic(), transaction.atomic():
                connection.set_tenant(other_tenant)
                Project.objects.exists()
                raise RuntimeError

        with pytest.raises(RuntimeError):
            switch_then_fail()
        connection.set_tenant(tenant)
        assert list(Project.objects.values_list("name", flat=True)) == ["Acme only"]


def test_inserts_updates_and_deletes_name_their_schema(tenant: Tenant, other_tenant: Tenant, owner: User) -> None:

    with tenant_context(tenant), count_statements() as log:
        project = ProjectFactory.create(name="Written")
        task = TaskFactory.create(project=project, title="t")
        Project.objects.filter(pk=project.pk).update(name="Renamed")
        Task.objects.filter(pk=task.pk).delete()

    schema = f'"{tenant.schema_name}".'
    for fragment in ("INSERT INTO", "UPDATE", "DELETE FROM"):
        statements = [s for s in log.statements if s.startswith(fragment) and "projects_" in s]
        assert statements, fragment
        assert all(s.startswith(f"{fragment} {schema}") for s in statements), statements
    with tenant_context(other_tenant):
        assert not Project.objects.filter(name="Renamed").exists()


def test_hand_written_sql_names_tables_through_one_helper(tenant: Tenant) -> None:

    with tenant_context(tenant):
        assert table_sql(Project) == f'"{tenant.schema_name}"."projects_project"'
    assert table_sql(User) == '"public"."accounts_user"'


def test_a_statement_compiled_once_runs_in_each_callers_schema(
    tenant: Tenant, other_tenant: Tenant, both_member: User, one_project_each: None
) -> None:

    def build(created_by: int) -> Any:
        return Project.objects.exclude(created_by_id=created_by).order_by("name")

    key = ("test", "compiled-across-schemas")
    with tenant_context(tenant):
        acme = [p.name for p in sql.compiled_once(key, build, both_member.pk)]
    with tenant_context(other_tenant):
        globex = [p.name for p in sql.compiled_once(key, build, both_member.pk)]

    assert "Acme only" in acme
    assert "Globex only" not in acme
    assert "Globex only" in globex
    assert "Acme only" not in globex


def test_content_type_cache_survives_schema_switches(tenant: Tenant, other_tenant: Tenant) -> None:
    ContentType.objects.get_for_model(Project)
    connection.set_tenant(tenant)
    connection.set_tenant(other_tenant)

    with count_statements() as log:
        ContentType.objects.get_for_model(Project)

    assert len(log) == 0


@override_settings(TENANT_APPS=["django.contrib.contenttypes", "tenant_apps.workspace"])
def test_a_tenant_schema_contenttypes_is_refused_by_a_system_check() -> None:
    assert "atrium.E001" in {e.id for e in run_checks()}


def test_a_transaction_pooler_without_a_direct_connection_is_refused_by_a_system_check(settings: Any) -> None:

    pooled = {**settings.DATABASES["default"], "POOLING": "transaction"}
    assert [e.id for e in pooling_errors({"default": pooled})] == ["atrium.E003"]
    assert [e.id for e in pooling_errors({"default": pooled, "direct": {**pooled, "POOLING": "none"}})] == [
        "atrium.E003"
    ]
    assert not pooling_errors({"default": pooled, "direct": {**pooled, "PORT": "6432", "POOLING": "none"}})
    assert not pooling_errors(settings.DATABASES)  # this run's own: no pooler


def test_a_health_check_after_a_tenant_request_sends_no_search_path(tenant_client: Client, owner: User) -> None:
    tenant_client.force_login(owner)
    tenant_client.get("/")

    with count_statements() as log:
        assert tenant_client.get("/readyz").status_code == 200

    assert not sets(log)
    assert connection.schema_name == "public"


# --- schema_session: where DDL and migrations still need a server-side path ----------------------------------------


@pytest.fixture
def own_connection(_session_tenants: dict[str, Tenant], django_db_blocker: Any) -> Iterator[Any]:
    """A second connection outside the test transaction, to exercise real commits, rollbacks and reconnects."""
    with django_db_blocker.unblock():
        conn: Any = connections.create_connection("default")
        conn.set_schema_to_public()
        try:
            yield conn
        finally:
            conn.close()


def test_a_schema_session_sets_the_path_for_ddl_and_puts_the_default_back(own_connection: Any, tenant: Tenant) -> None:
    acme = tenant
    with own_connection.schema_session():
        own_connection.set_tenant(acme)
        assert _server_path(own_connection) == f"{acme.schema_name}, public"
        own_connection.set_schema_to_public()

    assert _server_path(own_connection) == '"$user", public'


def test_a_schema_session_on_a_transaction_pooled_alias_needs_a_transaction(own_connection: Any) -> None:
    own_connection.settings_dict["POOLING"] = "transaction"
    try:
        with pytest.raises(ImproperlyConfigured, match="DATABASE_DIRECT_URL"), own_connection.schema_session():
            pass
    finally:
        own_connection.settings_dict["POOLING"] = "none"


def test_a_schema_session_inside_a_transaction_is_allowed_behind_a_transaction_pooler(tenant: Tenant) -> None:
    assert connection.in_atomic_block  # the test's transaction: a transaction pooler keeps it on one connection
    connection.settings_dict["POOLING"] = "transaction"
    try:
        with connection.schema_session():
            connection.set_tenant(tenant)
            assert _server_path(connection) == f"{tenant.schema_name}, public"
            connection.set_schema_to_public()
        assert _server_path(connection) == '"$user", public'  # reset before the transaction ends
    finally:
        connection.settings_dict["POOLING"] = "none"
