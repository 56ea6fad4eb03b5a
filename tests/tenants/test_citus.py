"""Citus schema-based sharding (docs/citus.md): the reference-table plan derived from the models, the SQL
`manage.py citus prepare` sends, `--check`, and a template replay that never sends a multi-statement string.

No Citus build runs here: the coordinator's state is a stand-in where a test needs one, and the statements are
captured (and, for `create_reference_table`, not executed) through the connection's execute wrappers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from io import StringIO
from typing import Any

import pytest
import sqlparse
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, DataError, transaction

from shared_apps.core.sql import execute_pipelined
from tenants import citus, provisioning, schema_migrate
from tenants.db import connection
from tenants.models import new_schema_name
from tests.conftest import citus_expectation_refusal

pytestmark = pytest.mark.django_db

TENANT_TO_PUBLIC = {"accounts_user", "auth_group", "auth_permission", "django_content_type"}


def coordinator(reference_tables: set[str]) -> citus.CoordinatorState:
    return citus.CoordinatorState(is_citus=True, version="13.2-1", reference_tables=frozenset(reference_tables))


@contextmanager
def captured(skip: Callable[[str], bool] = lambda sql: False) -> Iterator[list[str]]:
    """Every statement the connection sends; those `skip` matches are recorded but not executed."""
    statements: list[str] = []

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        statements.append(sql)
        return None if skip(sql) else execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield statements


# ---------------------------------------------------------------------------------------------------------------------
# The plan, from model metadata
# ---------------------------------------------------------------------------------------------------------------------


def test_the_plan_holds_every_public_table_tenant_tables_point_at() -> None:
    plan = citus.plan_derive()

    assert set(plan.tables) == TENANT_TO_PUBLIC
    sources = {edge.source for edge in plan.edges if edge.table == "accounts_user"}
    assert {"projects.Task.assignee", "audit.AuditEntry.actor", "guardian.UserObjectPermission.user"} <= sources
    # guardian's many-to-many-free grant tables and the product's direct grant tables both point at permissions
    assert "projects.ProjectUserObjectPermission.permission" in {e.source for e in plan.reasons("auth_permission")}


def test_a_reference_tables_own_foreign_keys_are_in_the_plan_and_come_first() -> None:
    plan = citus.plan_derive()

    edge = next(e for e in plan.edges if e.source == "auth.Permission.content_type")
    assert edge.table == "django_content_type"
    assert not edge.from_tenant
    assert plan.tables.index("django_content_type") < plan.tables.index("auth_permission")


def test_the_plan_follows_the_settings_not_a_list(settings: Any) -> None:
    # given auth moved among the tenant apps (its tables would then live in every tenant schema)
    settings.TENANT_APPS = [*settings.TENANT_APPS, "django.contrib.auth"]

    # when
    plan = citus.plan_derive()

    # then its tables are no longer public targets; the user table and content types still are
    assert set(plan.tables) == {"accounts_user", "django_content_type"}


def test_a_tenant_model_pointing_at_an_app_of_no_schema_is_a_plan_error(settings: Any) -> None:
    settings.SHARED_APPS = [app for app in settings.SHARED_APPS if app != "django.contrib.contenttypes"]

    with pytest.raises(citus.PlanError, match=r"contenttypes\.ContentType"):
        citus.plan_derive()


# ---------------------------------------------------------------------------------------------------------------------
# --check
# ---------------------------------------------------------------------------------------------------------------------


PLAIN = citus.CoordinatorState(is_citus=False, version=None, reference_tables=frozenset())


def test_check_passes_on_plain_postgresql_and_says_it_is_not_a_coordinator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(citus, "coordinator_state", lambda: PLAIN)
    out = StringIO()

    call_command("citus", "prepare", "--check", stdout=out)

    assert "not a Citus coordinator" in out.getvalue()
    for table in TENANT_TO_PUBLIC:
        assert f"public.{table}" in out.getvalue()


def test_check_fails_naming_each_tenant_model_whose_public_target_is_not_a_reference_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(citus, "coordinator_state", lambda: coordinator(TENANT_TO_PUBLIC - {"auth_group"}))

    with pytest.raises(CommandError) as failure:
        call_command("citus", "prepare", "--check", stdout=StringIO())

    message = str(failure.value)
    assert "projects.ProjectGroupObjectPermission.group" in message
    assert "guardian.GroupObjectPermission.group" in message
    assert "accounts_user" not in message


def test_check_passes_when_every_target_is_a_reference_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(citus, "coordinator_state", lambda: coordinator(TENANT_TO_PUBLIC))
    out = StringIO()

    call_command("citus", "prepare", "--check", stdout=out)

    assert "every public table tenant schemas point at is a reference table" in out.getvalue()


# ---------------------------------------------------------------------------------------------------------------------
# The SQL prepare sends
# ---------------------------------------------------------------------------------------------------------------------


def test_prepare_sends_create_reference_table_for_the_missing_tables_referenced_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(citus, "coordinator_state", lambda: coordinator({"accounts_user"}))
    out = StringIO()

    with captured(skip=lambda sql: "create_reference_table" in sql) as statements:
        call_command("citus", "prepare", stdout=out)

    sent = [sql for sql in statements if "create_reference_table" in sql]
    assert sent == [
        """SELECT create_reference_table('"public"."auth_group"')""",
        """SELECT create_reference_table('"public"."django_content_type"')""",
        """SELECT create_reference_table('"public"."auth_permission"')""",
    ]
    assert "[3/3] public.auth_permission is a reference table" in out.getvalue()
    assert "3 table(s) converted, 1 already reference tables." in out.getvalue()


def test_prepare_is_idempotent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(citus, "coordinator_state", lambda: coordinator(TENANT_TO_PUBLIC))
    out = StringIO()

    with captured(skip=lambda sql: "create_reference_table" in sql) as statements:
        call_command("citus", "prepare", stdout=out)

    assert not [sql for sql in statements if "create_reference_table" in sql]
    assert "0 table(s) converted, 4 already reference tables." in out.getvalue()


def test_prepare_on_plain_postgresql_converts_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(citus, "coordinator_state", lambda: PLAIN)
    out = StringIO()

    with captured() as statements:
        call_command("citus", "prepare", stdout=out)

    assert not [sql for sql in statements if "create_reference_table" in sql]
    assert "nothing to convert" in out.getvalue()
    with pytest.raises(citus.PlanError, match="not a Citus coordinator"):
        citus.prepare(citus.plan_derive(), state=PLAIN)


def test_a_coordinator_is_recognised_by_its_citus_extension() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_extension WHERE extname = 'citus'")
        installed = cursor.fetchone()[0] == 1

    state = citus.coordinator_state()

    assert state.is_citus is installed
    assert (state.version is not None) is installed


def test_the_reference_table_query_reads_only_replicated_public_tables() -> None:
    # given a coordinator as seen by the query: the extension row exists, pg_dist_partition answers
    answers = iter([("13.2-1",), None])

    class Cursor:
        sent: list[tuple[str, Any]] = []

        def execute(self, sql: str, params: Any = None) -> None:
            self.sent.append((sql, params))

        def fetchone(self) -> Any:
            return next(answers)

        def fetchall(self) -> list[tuple[str]]:
            return [("accounts_user",)]

    # when
    state = citus.coordinator_state(Cursor())

    # then
    assert state == coordinator({"accounts_user"})
    sql, params = Cursor.sent[1]
    assert "partmethod = 'n'" in sql
    assert "repmodel = 't'" in sql  # single-shard tenant tables and Citus-local tables are not reference tables
    assert params == ["public"]


# ---------------------------------------------------------------------------------------------------------------------
# Provisioning under schema-based sharding: one statement per message
# ---------------------------------------------------------------------------------------------------------------------


def test_the_template_replay_sends_one_statement_at_a_time_schema_first(tenant: Any) -> None:
    schema = new_schema_name()

    with transaction.atomic():
        with captured() as statements:
            provisioning.schema_create_from_template(schema)
        transaction.set_rollback(True)

    assert len(statements) > 20
    for sql in statements:
        assert len([s for s in sqlparse.split(sql) if s.strip()]) == 1, sql
        assert " AS SELECT " not in sql.upper(), sql  # no CREATE TABLE AS
    creates = [i for i, sql in enumerate(statements) if sql.startswith(("CREATE TABLE", "CREATE UNLOGGED TABLE"))]
    assert statements.index(f'CREATE SCHEMA "{schema}"') < min(creates)


def test_a_pipeline_refuses_a_multi_statement_string() -> None:
    with transaction.atomic():
        with pytest.raises(DatabaseError, match="multiple commands"):
            execute_pipelined(connection, ["SELECT 1; SELECT 2"])
        transaction.set_rollback(True)


def test_a_pipeline_failure_is_djangos_exception_and_stops_the_rest() -> None:
    with transaction.atomic():
        with pytest.raises(DataError, match="division by zero"):
            execute_pipelined(connection, ["SELECT 1", "SELECT 1 / 0", "CREATE SCHEMA never_made"])
        transaction.set_rollback(True)

    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regnamespace('never_made')")
        assert cursor.fetchone()[0] is None


# ---------------------------------------------------------------------------------------------------------------------
# A fresh Citus database migrates in one command; the suite refuses to run on plain PostgreSQL when told to expect Citus
# ---------------------------------------------------------------------------------------------------------------------


def test_migrate_schemas_makes_the_reference_tables_before_any_tenant_schema_on_a_coordinator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:

    order: list[str] = []
    monkeypatch.setattr(citus, "coordinator_state", lambda cursor=None: coordinator({"accounts_user"}))

    def prepare(plan: Any, state: Any = None) -> list[str]:
        order.append("prepare")
        return ["auth_group"]

    monkeypatch.setattr(citus, "prepare", prepare)
    monkeypatch.setattr(provisioning, "template_ensure", lambda verbosity=0: order.append("template"))

    schema_migrate._before_tenant_schemas(verbosity=0)

    assert order == ["prepare", "template"]


def test_migrate_schemas_on_plain_postgresql_prepares_nothing(monkeypatch: pytest.MonkeyPatch) -> None:

    order: list[str] = []
    monkeypatch.setattr(citus, "coordinator_state", lambda cursor=None: PLAIN)
    monkeypatch.setattr(citus, "prepare", lambda plan, state=None: order.append("prepare"))
    monkeypatch.setattr(provisioning, "template_ensure", lambda verbosity=0: order.append("template"))

    schema_migrate._before_tenant_schemas(verbosity=0)

    assert order == ["template"]


def test_the_suite_refuses_plain_postgresql_when_told_to_expect_citus() -> None:

    refusal = citus_expectation_refusal(is_citus=False, environ={"ATRIUM_EXPECT_CITUS": "1"})

    assert refusal is not None
    assert "--reuse-db" in refusal
    assert "createdb.sh" in refusal
    assert citus_expectation_refusal(is_citus=True, environ={"ATRIUM_EXPECT_CITUS": "1"}) is None
    assert citus_expectation_refusal(is_citus=False, environ={}) is None
