"""The search_path costs nothing when it is already right, and is re-issued whenever the server may have lost it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.checks import run_checks
from django.db import connections, transaction
from django.test import Client, override_settings

from shared_apps.accounts.models import Role, User
from shared_apps.core.statements import count_statements
from tenant_apps.projects.models import Project
from tenants.db import connection
from tenants.models import Tenant
from tests.conftest import client_for
from tests.factories import MembershipFactory, ProjectFactory


def sets(log) -> list[str]:
    return log.matching("SET search_path")


@pytest.fixture
def both_member(tenant: Tenant, other_tenant: Tenant) -> User:
    user = MembershipFactory.create(tenant=tenant, role=Role.MEMBER).user
    MembershipFactory.create(tenant=other_tenant, user=user, role=Role.MEMBER)
    return user


def test_a_cached_tenant_page_sends_exactly_the_views_statements(tenant_client: Client, owner: User) -> None:
    tenant_client.force_login(owner)
    tenant_client.get("/")  # warm: route cached, connection pointed at acme

    with count_statements() as log:
        response = tenant_client.get("/")

    assert response.status_code == 200
    # session, user, membership (auth), the projects and the tasks assigned to you: nothing for routing, no SET
    # search_path
    assert len(log) == 5, log.statements
    assert not sets(log)
    assert not log.matching("tenants_")


def test_alternating_tenants_on_one_connection_reads_only_each_tenants_rows(
    tenant: Tenant, other_tenant: Tenant, in_tenant, both_member: User
) -> None:
    with in_tenant(tenant):
        ProjectFactory.create(name="Acme only")
    with in_tenant(other_tenant):
        ProjectFactory.create(name="Globex only")
    acme, globex = client_for(tenant), client_for(other_tenant)
    acme.force_login(both_member)
    globex.force_login(both_member)
    connection.set_tenant(tenant)
    Project.objects.exists()  # the server session starts on acme's path
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
    # a SET on each switch (B, back to A), none for the repeated A
    assert sets(log) == [
        f'SET search_path = "{other_tenant.schema_name}","public"',
        f'SET search_path = "{tenant.schema_name}","public"',
    ]


def test_savepoint_rollback_reissues_the_path(tenant: Tenant, other_tenant: Tenant) -> None:
    connection.set_tenant(tenant)
    Project.objects.exists()

    def switch_then_fail() -> None:
        with transaction.atomic():
            connection.set_tenant(other_tenant)
            Project.objects.exists()  # SET to globex inside the savepoint
            raise RuntimeError

    with count_statements() as log:
        with pytest.raises(RuntimeError):
            switch_then_fail()
        Project.objects.exists()  # the server is back on acme's path; globex's must be sent again

    assert sets(log) == [f'SET search_path = "{other_tenant.schema_name}","public"'] * 2


def test_switching_back_and_forth_without_a_query_sends_nothing(tenant: Tenant, other_tenant: Tenant) -> None:
    connection.set_tenant(tenant)
    Project.objects.exists()

    with count_statements() as log:
        connection.set_tenant(other_tenant)
        connection.set_schema_to_public()
        connection.set_tenant(tenant)
        Project.objects.exists()

    assert not sets(log)
    assert len(log) == 1


@pytest.fixture
def committed_tenants(_session_tenants: dict[str, Tenant]) -> dict[str, Tenant]:
    return _session_tenants


@pytest.fixture
def own_connection(committed_tenants: dict[str, Tenant], django_db_blocker) -> Iterator:
    """A second connection outside the test transaction, to exercise real commits, rollbacks and reconnects."""
    with django_db_blocker.unblock():
        conn: Any = connections.create_connection("default")
        conn.set_schema_to_public()
        try:
            yield conn
        finally:
            conn.close()


def _server_path(conn) -> str:
    with conn.cursor() as cursor:
        cursor.execute("SHOW search_path")
        return str(cursor.fetchone()[0])


def test_rollback_reissues_the_path(own_connection, committed_tenants: dict[str, Tenant]) -> None:
    acme, globex = committed_tenants["acme"], committed_tenants["globex"]
    own_connection.set_tenant(acme)
    assert _server_path(own_connection) == f"{acme.schema_name}, public"

    own_connection.set_autocommit(False)
    own_connection.set_tenant(globex)
    assert _server_path(own_connection) == f"{globex.schema_name}, public"
    own_connection.rollback()  # the server drops the SET made in this transaction
    own_connection.set_autocommit(True)

    with count_statements() as log:
        assert _server_path(own_connection) == f"{globex.schema_name}, public"
    assert len(sets(log)) == 1


def test_a_new_connection_gets_the_path_again(own_connection, committed_tenants: dict[str, Tenant]) -> None:
    acme = committed_tenants["acme"]
    own_connection.set_tenant(acme)
    _server_path(own_connection)

    own_connection.close()
    with count_statements() as log:
        assert _server_path(own_connection) == f"{acme.schema_name}, public"
    assert len(sets(log)) == 1


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


def test_the_connection_is_back_on_public_when_a_request_ends_at_no_cost(tenant_client: Client, owner: User) -> None:
    tenant_client.force_login(owner)
    tenant_client.get("/")  # warm: route cached, the server's path is acme's

    with count_statements() as log:
        response = tenant_client.get("/")
    assert response.status_code == 200
    assert not sets(log)  # going back to public after the previous request sent nothing, nor did coming back

    # what runs after the request (a health check, a log handler) reads the public schema, not acme's
    assert connection.schema_name == "public"
    with connection.cursor() as cursor:
        cursor.execute("SHOW search_path")
        assert cursor.fetchone()[0] == "public"


def test_a_health_check_after_a_tenant_request_runs_in_the_public_schema(tenant_client: Client, owner: User) -> None:
    tenant_client.force_login(owner)
    tenant_client.get("/")

    with count_statements() as log:
        assert tenant_client.get("/readyz").status_code == 200

    assert sets(log) == ['SET search_path = "public"']
