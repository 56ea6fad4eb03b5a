"""Quoting for the SQL that cannot take bound parameters: schema names in DDL and in `search_path`, and text embedded
in scripts sent in one round trip. Anything that can be a bound parameter should be one.

The bottom layer: this module imports the standard library, Django and libraries only, never a project package.
"""

from __future__ import annotations

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
