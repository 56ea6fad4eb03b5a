"""Atrium's database backend: django-tenants' wrapper with a search_path that costs nothing when it is already right.

django-tenants forgets the connection's search_path on every `set_tenant()` (so each routed request re-issues
`SET search_path`) and clears the ContentType cache each time. Here instead:

- the connection remembers the search_path the *server* currently has (`search_path_set_schemas`), and `SET` is sent
  only when the wanted path differs from it. A request for the tenant the pooled connection already points at sends
  no statement of its own (persistent connections, `CONN_MAX_AGE > 0`).
- what the server has is forgotten whenever the server may have dropped it: a new connection, `close()`, a rollback
  and a rollback to a savepoint (a `SET` is transactional in PostgreSQL: django-tenants #1262).
- the ContentType cache is kept: `contenttypes` lives in the public schema only (config/settings/base.py), so ids
  are the same from every tenant. A system check (tenants.checks) refuses a configuration where that is not true.
"""

from __future__ import annotations

import functools
from typing import Any

from django.utils.asyncio import async_unsafe
from django_tenants.postgresql_backend import base as tenants_base

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


class DatabaseWrapper(tenants_base.DatabaseWrapper):
    search_path_set_schemas: list[str] | None  # the path the server has now; None when unknown
    _setting_search_path: bool

    def set_tenant(self, tenant: Any, include_public: bool = True) -> None:
        """Point the connection at a tenant. Sends nothing: the next cursor sets the path only if it changed."""
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
        if self._setting_search_path:
            return
        if self.search_path_set_schemas is not None and self.search_path_set_schemas == _search_path_for(
            self.schema_name, self.include_public_schema
        ):
            return  # the server already has this path
        # Bypass django-tenants' TENANT_LIMIT_SET_CALLS shortcut, which trusts any remembered path (it relies on
        # set_tenant() forgetting it); the comparison above is what decides here.
        self.search_path_set_schemas = None
        super()._handle_search_path(cursor)

    @async_unsafe
    def connect(self) -> None:
        super().connect()
        self.search_path_set_schemas = None  # a new server session starts with the server's default path
