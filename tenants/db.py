"""The default connection, typed as django-tenants' wrapper (set_tenant, schema_name, …) for the type checker, and
the two places Atrium needs a PostgreSQL session of its own.

`connection` is Django's usual per-thread proxy; importing it from here only changes what mypy knows about it.

Nothing Atrium sends for a workspace depends on connection state (tenants/postgresql_backend), so DATABASE_URL may
point at a pooler in transaction mode. Two things do need a server session that stays the process's own, and use the
`direct` alias (DATABASE_DIRECT_URL) when DATABASE_URL goes through such a pooler:

- migrations (`migrate_schemas`): Django's migration executor and schema editor write bare table names and need the
  session's search_path across many transactions; the command moves the whole process to the direct connection;
- session-level advisory locks (one pool refill, one metrics refresh at a time): a lock taken through a transaction
  pooler stays on whichever server connection ran the statement.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast

from django.db import DEFAULT_DB_ALIAS, connections
from django.db import connection as _connection
from django.db.models import Field, Model

if TYPE_CHECKING:
    from tenants.postgresql_backend.base import DatabaseWrapper

connection = cast("DatabaseWrapper", _connection)

_M = TypeVar("_M", bound=Model)


def table_sql(model: Any, conn: Any = None) -> str:
    """A model's table for hand-written SQL, named with its schema as the ORM names it (`"t_…"."projects_task"`,
    `"public"."accounts_user"`): raw SQL must never rely on a server-side search_path."""
    from tenants.postgresql_backend.compiler import table_sql as compiled_name  # noqa: PLC0415  (reads the registry)

    return compiled_name(model, conn if conn is not None else connection)


@functools.cache
def _insert_shape(model: type[Model]) -> tuple[list[Field[Any, Any]], str, str]:
    """The fields an INSERT of `model` writes (its concrete fields but a database-generated primary key), their
    quoted column list, and its placeholders."""
    meta = model._meta
    pk = meta.pk
    generated = pk is not None and getattr(pk, "db_returning", False)
    fields = [f for f in meta.concrete_fields if not (generated and f is pk)]
    columns = ", ".join('"' + f.column + '"' for f in fields)
    return fields, columns, ", ".join(["%s"] * len(fields))


@dataclass(frozen=True)
class Insert:
    """The pieces of one row's INSERT: the table as the ORM names it, the quoted columns, their placeholders, and the
    values (converted for the database) in that order."""

    table: str
    columns: str
    placeholders: str
    values: list[Any]


def insert_parts(instance: Model, conn: Any = None) -> Insert:
    """What `insert_one` sends for `instance`, for a caller that writes the row inside a larger statement."""
    model = type(instance)
    if model._meta.parents:
        raise TypeError(f"an INSERT writes one table; {model.__name__} inherits from another model.")
    conn = conn if conn is not None else connection
    fields, columns, placeholders = _insert_shape(model)
    values = [f.get_db_prep_save(f.pre_save(instance, True), connection=conn) for f in fields]
    return Insert(table=table_sql(model, conn), columns=columns, placeholders=placeholders, values=values)


@functools.cache
def row_shape(model: type[Model]) -> tuple[str, list[str]]:
    """A model's concrete columns, quoted, for a hand-written SELECT or RETURNING, and their attribute names: a row
    read that way becomes an instance with `model.from_db(alias, names, row)`."""
    fields = list(model._meta.concrete_fields)
    return ", ".join('"' + f.column + '"' for f in fields), [f.attname for f in fields]


def insert_one(instance: _M, *, conn: Any = None) -> _M:
    """Write a new row for `instance` in one `INSERT … RETURNING` its primary key, as `instance.save()` would write
    it (defaults, `auto_now`/`auto_now_add`, each field's conversion for the database), into the table's schema as the
    ORM names it, and mark the instance saved.

    What `save()` does besides is left out, as `bulk_create` leaves it out: no model signals, no parent rows
    (multi-table inheritance), no save() override. For hot paths that write one row of a plain model and want one
    statement without the ORM's per-save machinery; anything else calls save()."""
    conn = conn if conn is not None else connection
    parts = insert_parts(instance, conn)
    pk = instance._meta.pk
    assert pk is not None  # noqa: S101  (every concrete model has one)
    sql = f'INSERT INTO {parts.table} ({parts.columns}) VALUES ({parts.placeholders}) RETURNING "{pk.column}"'  # noqa: S608  (names from the model)
    with conn.cursor() as cursor:
        cursor.execute(sql, parts.values)
        row = cursor.fetchone()
    saved(instance, row[0], conn)
    return instance


def saved(instance: _M, pk: Any, conn: Any = None) -> _M:
    """Mark an instance written by hand-written SQL as the ORM marks a saved one: its primary key, not adding."""
    instance.pk = pk
    instance._state.adding = False
    instance._state.db = (conn if conn is not None else connection).alias
    return instance


DIRECT_DB_ALIAS = "direct"


def pooled_in_transactions(alias: str = DEFAULT_DB_ALIAS) -> bool:
    return bool(connections.settings[alias].get("POOLING") == "transaction")


def direct_for_process() -> bool:
    """Move this process's default alias to the direct connection when it goes through a transaction pooler (the
    migrate commands call this first). True if it moved. Connections already open on the default alias are closed."""
    if not pooled_in_transactions() or DIRECT_DB_ALIAS not in connections.settings:
        return False
    direct = dict(connections.settings[DIRECT_DB_ALIAS])
    direct.pop("TEST", None)
    connections[DEFAULT_DB_ALIAS].close()
    connections.settings[DEFAULT_DB_ALIAS] = {**direct, "TEST": connections.settings[DEFAULT_DB_ALIAS].get("TEST", {})}
    del connections[DEFAULT_DB_ALIAS]  # this thread's wrapper: made again from the new settings on next use
    return True


def lock_connection() -> Any:
    """The connection to hold a session-level advisory lock on: the default one, or the direct one when the default
    goes through a transaction pooler."""
    return connections[DIRECT_DB_ALIAS] if pooled_in_transactions() else connections[DEFAULT_DB_ALIAS]


@contextmanager
def advisory_lock(key: int) -> Iterator[bool]:
    """Try a session-level advisory lock on `lock_connection()`: yields whether it was taken, and releases it after.
    For work longer than a transaction that only one process may do at a time."""
    conn = lock_connection()
    with conn.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        row = cursor.fetchone()
    taken = bool(row and row[0])
    try:
        yield taken
    finally:
        if taken:
            with conn.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
