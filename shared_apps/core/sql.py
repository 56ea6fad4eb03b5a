"""Quoting for the SQL that cannot take bound parameters: schema names in DDL and in `search_path`, and text embedded
in scripts sent in one round trip (`execute_pipelined`). Anything that can be a bound parameter should be one.

The bottom layer: this module imports the standard library, Django and libraries only, never a project package.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

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
