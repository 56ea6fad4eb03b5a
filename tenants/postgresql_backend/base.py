"""Atrium's database backend: django-tenants' wrapper without tenancy in connection state.

django-tenants points a connection at a tenant with a session-level `SET search_path`. Behind a pooler in transaction
mode that leaks: the next statement may run on another server connection, whose path is another client's. Here:

- `set_tenant()` changes only Python state (`schema_name`); nothing is sent. The ORM's compiler
  (`tenants.postgresql_backend.compiler`) writes every model's table with its schema, so each statement carries its
  own tenancy, whichever connection runs it, and the routed request path sends no `SET` at all.
- DDL and migrations, whose SQL Django writes with bare table names, still need a server-side path: they run inside
  `schema_session()`, where the path follows `set_schema()` as django-tenants does it. That is only allowed where
  the session is really this process's: a direct connection (no pooler, a session pooler, or the `direct` alias from
  DATABASE_DIRECT_URL), or inside one transaction (a transaction pooler keeps a transaction on one server connection;
  the path is reset before it ends).
- the connection remembers the path the server has (`search_path_set_schemas`) and forgets it whenever the server
  may have dropped it: a new connection, `close()`, a rollback (a `SET` is transactional: django-tenants #1262).
- the ContentType cache is kept: `contenttypes` lives in the public schema only (config/settings/parts/apps.py), so ids
  are the same from every tenant. A system check (tenants.checks) refuses a configuration where that is not true.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError
from django.db.backends.postgresql.operations import DatabaseOperations as PostgresOperations
from django.utils.asyncio import async_unsafe
from django_tenants.postgresql_backend import base as tenants_base

POOLING_MODES = ("none", "session", "transaction")

_search_paths: dict[tuple[str, bool], list[str]] = {}


def _search_path_for(schema_name: str, include_public: bool) -> list[str]:
    """The validated search_path for a schema, computed once per (schema, include_public) per process."""
    key = (schema_name, include_public)
    paths = _search_paths.get(key)
    if paths is None:
        public = tenants_base.get_public_schema_name()
        if schema_name == public:
            paths = [public]
        elif include_public:
            paths = [schema_name, public]
        else:
            paths = [schema_name]
        paths.extend(tenants_base.EXTRA_SEARCH_PATHS)
        for path in paths:
            tenants_base._check_schema_name(path)
        if len(_search_paths) > 100_000:  # bounded: schemas are dropped and created over a process's life
            _search_paths.clear()
        _search_paths[key] = paths
    return paths


@functools.cache
def _public_schema_name() -> str:
    return str(tenants_base.get_public_schema_name())


class DatabaseOperations(PostgresOperations):
    compiler_module = "tenants.postgresql_backend.compiler"


class DatabaseWrapper(tenants_base.DatabaseWrapper):
    ops_class = DatabaseOperations
    search_path_set_schemas: list[str] | None  # the path the server has now; None when unknown
    _setting_search_path: bool
    schema_sessions = 0  # > 0: inside schema_session(), the server's search_path follows set_schema()

    @property
    def pooling(self) -> str:
        """How this alias reaches PostgreSQL: "none" (directly), "session" or "transaction" (through a pooler in
        that mode). DATABASES[alias]["POOLING"], from DATABASE_POOLING for the default alias."""
        return str(self.settings_dict.get("POOLING") or "none")

    def set_tenant(self, tenant: Any, include_public: bool = True) -> None:
        """Point the connection at a tenant. Sends nothing: statements name their schema (see the module docstring)."""
        self.tenant = tenant
        self.schema_name = tenant.schema_name
        self.include_public_schema = include_public
        self.settings_dict["SCHEMA"] = self.schema_name
        if tenants_base.EXTRA_SET_TENANT_METHOD:
            tenants_base.EXTRA_SET_TENANT_METHOD(self, tenant)

    def set_schema_to_public(self) -> None:
        """django-tenants' own, without reading PUBLIC_SCHEMA_NAME from settings on every call (a missing setting costs
        more than the rest): it runs at least once per request, when the request ends (tenants.signals)."""
        self.set_tenant(tenants_base.FakeTenant(schema_name=_public_schema_name()))

    def _get_cursor_search_paths(self) -> list[str]:
        return _search_path_for(self.schema_name, self.include_public_schema)

    def _handle_search_path(self, cursor: Any = None) -> None:
        if not self.schema_sessions or self._setting_search_path:
            return  # the routed path: statements carry their schema; nothing is sent
        if self.search_path_set_schemas is not None and self.search_path_set_schemas == _search_path_for(
            self.schema_name, self.include_public_schema
        ):
            return  # the server already has this path
        # Bypass django-tenants' TENANT_LIMIT_SET_CALLS shortcut, which trusts any remembered path (it relies on
        # set_tenant() forgetting it); the comparison above is what decides here.
        self.search_path_set_schemas = None
        super()._handle_search_path(cursor)

    @contextmanager
    def schema_session(self) -> Iterator[None]:
        """A block whose raw SQL and DDL (migrations, the schema editor) may use bare table names: the server's
        search_path follows `set_schema()` inside it, and is back to the server's default when it ends.

        Refused on a connection through a transaction pooler outside a transaction: there the path would be set on
        whichever server connection the next statement happens to get. Commands that migrate use the direct alias.
        """
        if self.pooling == "transaction" and not self.in_atomic_block:
            raise ImproperlyConfigured(
                f"The database alias {self.alias!r} goes through a transaction pooler (DATABASE_POOLING=transaction): "
                "migrations and DDL need a direct connection (DATABASE_DIRECT_URL) or one transaction."
            )
        self.schema_sessions += 1
        try:
            yield
        finally:
            self.schema_sessions -= 1
            if not self.schema_sessions:
                self._reset_search_path()

    def _reset_search_path(self) -> None:
        """Back to the server's default path. Inside a transaction that already failed nothing can be sent, and
        nothing needs to be: the block was entered inside it (else it would have ended first), so every `SET` it
        made rolls back with it."""
        self.search_path_set_schemas = None
        if self.connection is None or (self.in_atomic_block and self.needs_rollback):
            return
        try:
            with self.cursor() as cursor:
                cursor.execute("SET search_path TO DEFAULT")
        except DatabaseError:
            if not self.in_atomic_block:
                self.close()  # a connection whose path is unknown is not reused

    @async_unsafe
    def connect(self) -> None:
        super().connect()
        self.search_path_set_schemas = None  # a new server session starts with the server's default path
