"""SQL that names its schema: every table of a model is written `"schema"."table"` by the ORM's compiler.

A request for a workspace must read and write that workspace's schema whichever server connection runs the
statement. Behind a pooler in transaction mode (PgBouncer, RDS Proxy, Supavisor) consecutive statements of one
request can run on different server connections, so a session's `SET search_path` says nothing about where the next
statement goes: it is another client's path, or none. Here the schema travels with each statement instead:

- a table of a tenant app (TENANT_APPS only: projects, audit, guardian) is qualified with the connection's current
  schema (`connection.schema_name`, which `set_tenant()` sets in Python and never sends to the server);
- a table of a shared app (SHARED_APPS: accounts, tenants, billing, sessions, auth, …) is qualified with `public`;
- any other table (Django's migration recorder, a cache table created by hand) is left as it is.

Only the places a table is *named* change — FROM, JOIN, INSERT INTO, UPDATE, DELETE FROM; column references keep the
bare table name (`"projects_task"."id"`), which PostgreSQL resolves against the qualified table in FROM. So the
statement costs nothing more, and a statement for one workspace cannot reach another's rows on any connection: an
unqualified tenant table in hand-written SQL finds nothing at all (no tenant table exists in `public`), it never finds
another tenant's. Citus' schema-based sharding routes each statement by the schema it names.
"""

from __future__ import annotations

import functools
import importlib
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db.models.sql.datastructures import BaseTable, Join
from django_tenants.postgresql_backend.base import _check_schema_name

# Django's PostgreSQL compilers (bulk inserts through UNNEST), unknown to the type stubs.
pg: Any = importlib.import_module("django.db.backends.postgresql.compiler")

PUBLIC = "public"
# Where a table lives: TENANT (the connection's current schema) or PUBLIC; a table in neither is left unqualified.
TENANT = "tenant"


@functools.cache
def _app_schemas() -> dict[str, str]:
    """app label → TENANT or PUBLIC, from SHARED_APPS and TENANT_APPS (an app in both follows the current schema)."""
    shared, tenant = set(settings.SHARED_APPS), set(settings.TENANT_APPS)
    found: dict[str, str] = {}
    for config in apps.get_app_configs():
        full = f"{config.__module__}.{type(config).__name__}"
        in_tenant = config.name in tenant or full in tenant
        in_shared = config.name in shared or full in shared
        if in_tenant:
            found[config.label] = TENANT
        elif in_shared:
            found[config.label] = PUBLIC
    return found


@functools.cache
def _table_schemas() -> dict[str, str]:
    by_app = _app_schemas()
    found: dict[str, str] = {}
    for model in apps.get_models(include_auto_created=True):
        where = by_app.get(model._meta.app_label)
        if where is not None:
            found[model._meta.db_table] = where
    return found


def table_schema(table: str) -> str | None:
    """TENANT, PUBLIC or None (leave unqualified) for a table name, from the app registry (read on first use)."""
    return _table_schemas().get(table)


@functools.lru_cache(maxsize=4096)
def _quoted_schema(schema: str) -> str:
    _check_schema_name(schema)  # 1-63 characters, no quotes or control characters: safe inside double quotes
    return '"' + schema + '"'


def qualified(connection: Any, table: str, quoted_table: str) -> str:
    """`quoted_table` preceded by the schema the table lives in for this connection's current tenant."""
    where = table_schema(table)
    if where is None:
        return quoted_table
    schema = PUBLIC if where == PUBLIC else (connection.schema_name or PUBLIC)
    return _quoted_schema(schema) + "." + quoted_table


def _requalify(sql: str, prefix: str, quoted: str, qualified_name: str) -> str:
    """Replace `prefix + quoted` at the start of `sql` by `prefix + qualified_name` (the start is where Django
    writes the table; anything else is left alone)."""
    head = prefix + quoted
    if quoted == qualified_name or not sql.startswith(head):
        return sql
    return prefix + qualified_name + sql[len(head) :]


class _Qualifying:
    """Mixed into each compiler: FROM and JOIN entries name their table with its schema."""

    connection: Any

    def compile(self, node: Any) -> tuple[str, list[Any]]:
        sql, params = super().compile(node)  # type: ignore[misc]
        kind = type(node)
        if kind is BaseTable or kind is Join:
            table = node.table_name
            if table_schema(table) is not None:
                quoted = self.quote_name_unless_alias(table)  # type: ignore[attr-defined]
                prefix = "" if kind is BaseTable else node.join_type + " "
                sql = _requalify(sql, prefix, quoted, qualified(self.connection, table, quoted))
        return sql, params


class SQLCompiler(_Qualifying, pg.SQLCompiler):
    pass


class SQLInsertCompiler(_Qualifying, pg.SQLInsertCompiler):
    def as_sql(self) -> list[tuple[str, Any]]:
        statements = super().as_sql()
        table = self.query.get_meta().db_table
        if table_schema(table) is None:
            return statements
        quoted = self.connection.ops.quote_name(table)
        prefix = self.connection.ops.insert_statement(on_conflict=self.query.on_conflict) + " "
        name = qualified(self.connection, table, quoted)
        return [(_requalify(sql, prefix, quoted, name), params) for sql, params in statements]


class SQLDeleteCompiler(_Qualifying, pg.SQLDeleteCompiler):
    def _as_sql(self, query: Any) -> tuple[str, Any]:
        sql, params = super()._as_sql(query)
        table = query.base_table
        if table_schema(table) is None:
            return sql, params
        quoted = self.quote_name_unless_alias(table)
        return _requalify(sql, "DELETE FROM ", quoted, qualified(self.connection, table, quoted)), params


class SQLUpdateCompiler(_Qualifying, pg.SQLUpdateCompiler):
    def as_sql(self) -> tuple[str, Any]:
        sql, params = super().as_sql()
        if not sql:
            return sql, params
        table = self.query.base_table
        if table_schema(table) is None:
            return sql, params
        quoted = self.quote_name_unless_alias(table)
        return _requalify(sql, "UPDATE ", quoted, qualified(self.connection, table, quoted)), params


class SQLAggregateCompiler(_Qualifying, pg.SQLAggregateCompiler):
    pass


def table_sql(model: Any, connection: Any) -> str:
    """A model's table as hand-written SQL must name it: `"<schema>"."<table>"` for the connection's current tenant
    (tenant apps) or `"public"."<table>"` (shared apps), exactly as the compiler writes it."""
    table = model._meta.db_table
    return qualified(connection, table, connection.ops.quote_name(table))
