"""SQL helpers: quoting for the SQL that cannot take bound parameters (schema names in DDL and in `search_path`,
text embedded in scripts sent in one round trip by `execute_pipelined`; anything that can be a bound parameter should
be one), and statements compiled once per shape (`compiled_once`).

The bottom layer: this module imports the standard library, Django and libraries only, never a project package.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.exceptions import EmptyResultSet
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators  # type: ignore[attr-defined]  # Django's own, unstubbed
from django.db.models.sql.compiler import SQLCompiler
from django_tenants.postgresql_backend.base import _check_schema_name


def quote(name: str) -> str:
    """A validated, double-quoted schema or relation name.

    The name must pass django-tenants' schema-name rule (1 to 63 characters, not starting with `pg_`, no quotes,
    backslashes, semicolons, line breaks or NUL), else ValidationError. So the result never needs escaping, and it can
    also be embedded in a string literal (`literal(quote(schema))`) unchanged.
    """
    _check_schema_name(name)
    return '"' + name + '"'


def literal(text: str) -> str:
    """`text` as an SQL string literal: single-quoted, with embedded single quotes doubled.

    Backslashes are left alone: with `standard_conforming_strings` on (PostgreSQL's default) they are ordinary
    characters in a '…' literal.
    """
    return "'" + text.replace("'", "''") + "'"


# --- statements compiled once per shape ---------------------------------------------------------------------------

M = TypeVar("M", bound=Model)

# Stand-ins for the integers a shape is compiled with: far below any id PostgreSQL hands out (ids are positive), so
# a parameter equal to one is the stand-in, never a real value.
_STAND_IN_BASE = -(2**62)
_PUBLIC = "public"


@dataclass(frozen=True)
class _Compiled:
    sql: str
    schema: str  # the schema the statement's tenant tables were written with (`"<schema>".<table>`)
    params: tuple[Any, ...]
    slots: tuple[tuple[int, int], ...]  # (parameter position, argument index)
    compiler: SQLCompiler
    init_list: tuple[str, ...]
    model_columns: slice
    populators: tuple[Any, ...]
    annotations: tuple[tuple[str, int], ...]


# Compiled shapes, least recently used first; bounded because a key may hold a page offset, which grows with the pages
# people browse.
COMPILED_MAX = 1024
_COMPILED: OrderedDict[Hashable, _Compiled] = OrderedDict()
_COMPILED_LOCK = threading.Lock()
_NOTHING = _Compiled("", "", (), (), None, (), slice(0), (), ())  # type: ignore[arg-type]  # a shape that selects nothing


def compiled_once(key: Hashable, build: Callable[..., QuerySet[M]], *args: int) -> list[M]:
    """`list(build(*args))`, with the SQL compiled once per process for `key` (the query's shape) and reused.

    Building a queryset and compiling it costs Django about as much as PostgreSQL takes to answer a small indexed
    page. When a page's query has a fixed shape and only some integers change (the viewer's id), `build` is called
    once with stand-ins for `args`; later calls bind the real integers at the stand-ins' positions and run the same
    SQL, turning rows into instances exactly as Django's model iterable does (`select_related` included).

    `key` must name everything that changes the SQL besides `args` (filters chosen, offsets, limits); the compiled
    statement may embed other parameters the builder reads (like permission ids, constant for the process's life).
    Only integer arguments, each appearing at least once among the parameters (else ValueError: `args` would be
    ignored).

    The statement names each tenant table with its schema (tenants/postgresql_backend/compiler.py): one compiled for
    a workspace is run for another with the schema name swapped (`"t_a".` → `"t_b".`; schema names are opaque and
    validated, so the quoted name followed by a dot occurs nowhere else in the text). Shapes compiled in the public
    schema are kept apart: `"public".` also names the shared tables, so it is never swapped.
    """
    schema = getattr(connections[DEFAULT_DB_ALIAS], "schema_name", "") or _PUBLIC
    compiled = _compiled_for((schema == _PUBLIC, key), build, len(args))
    if compiled is _NOTHING:
        return []
    params = list(compiled.params)
    for position, index in compiled.slots:
        params[position] = args[index]
    compiler = compiled.compiler
    db = compiler.using or DEFAULT_DB_ALIAS
    statement = compiled.sql
    if schema != compiled.schema and compiled.schema != _PUBLIC:
        statement = statement.replace(f'"{compiled.schema}".', f"{quote(schema)}.")
    conn = connections[db]
    with conn.cursor() as cursor:
        cursor.execute(statement, params)
        rows = cursor.fetchall()
    model: type[M] = compiler.query.model  # type: ignore[assignment]
    objects: list[M] = []
    for row in compiler.results_iter(results=[rows]):
        obj = model.from_db(db, compiled.init_list, row[compiled.model_columns])
        for populator in compiled.populators:
            populator.populate(row, obj)
        for name, column in compiled.annotations:
            setattr(obj, name, row[column])
        objects.append(obj)
    return objects


def _compiled_for(key: Hashable, build: Callable[..., QuerySet[M]], arity: int) -> _Compiled:
    with _COMPILED_LOCK:
        compiled = _COMPILED.get(key)
        if compiled is not None:
            _COMPILED.move_to_end(key)
            return compiled
    compiled = _compile(build, arity)  # outside the lock: it builds a queryset; a race compiles the same twice
    with _COMPILED_LOCK:
        _COMPILED[key] = compiled
        while len(_COMPILED) > COMPILED_MAX:
            _COMPILED.popitem(last=False)
    return compiled


def _compile(build: Callable[..., QuerySet[M]], arity: int) -> _Compiled:
    stand_ins = [_STAND_IN_BASE - i for i in range(arity)]
    queryset = build(*stand_ins)
    if queryset._prefetch_related_lookups:  # type: ignore[attr-defined]
        raise ValueError("compiled_once runs one statement: prefetch_related is not supported")
    compiler = queryset.query.get_compiler(using=queryset.db)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:  # the shape selects nothing whatever the arguments (an empty slice, `pk__in=[]`)
        return _NOTHING
    slots = tuple(
        (position, stand_ins.index(value))
        for position, value in enumerate(params)
        if type(value) is int and value in stand_ins
    )
    if {index for _, index in slots} != set(range(arity)):
        raise ValueError("every argument of compiled_once must appear among the query's parameters")
    select, klass_info = compiler.select, compiler.klass_info
    assert klass_info is not None  # noqa: S101  (a model query always has one)
    columns = klass_info["select_fields"]
    return _Compiled(
        sql=sql,
        schema=getattr(compiler.connection, "schema_name", "") or _PUBLIC,
        params=tuple(params),
        slots=slots,
        compiler=compiler,
        init_list=tuple(select[i][0].target.attname for i in columns),
        model_columns=slice(columns[0], columns[-1] + 1),
        populators=tuple(get_related_populators(klass_info, select, queryset.db)),
        annotations=tuple(compiler.annotation_col_map.items()),
    )


def execute_pipelined(connection: Any, statements: Iterable[str]) -> int:
    """Run `statements` (no parameters) on `connection`, a Django database wrapper, one statement per message but in
    one round trip: psycopg's pipeline mode queues them and waits once, at the end. Returns how many were sent.

    Never one multi-statement string: Citus refuses those when it forwards DDL to a worker ("cannot insert multiple
    commands into a prepared statement"), and the extended protocol the pipeline uses refuses them everywhere, so a
    script that slips one in fails on plain PostgreSQL too. Each statement passes through the connection's execute
    wrappers. The first failure skips the rest and is raised as Django's exception (IntegrityError, …); call inside a
    transaction so that what ran before it is rolled back.
    """
    sent = 0
    with connection.cursor() as cursor, connection.wrap_database_errors, connection.connection.pipeline():
        for statement in statements:
            cursor.execute(statement)
            sent += 1
    return sent
