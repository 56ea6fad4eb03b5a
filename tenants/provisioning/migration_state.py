"""The migration state of a schema: the (app, name) rows of its `django_migrations`, a short digest of them, and
whether they are every migration the code knows.

The digest is what identifies a migration state elsewhere: the template's snapshot is keyed by it, and
`migrate_schemas` groups schemas by it (`FINGERPRINT_SQL` lets the server compute it for many schemas in one query).
"""

from __future__ import annotations

import hashlib
import threading

from django.db.migrations.loader import MigrationLoader

from shared_apps.core.sql import quote
from tenants.db import connection


def applied_migrations(schema: str) -> set[tuple[str, str]] | None:
    """The (app, name) rows of a schema's django_migrations, or None when it has no such table."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [f"{quote(schema)}.django_migrations"])
        if not cursor.fetchone()[0]:
            return None
        cursor.execute(f"SELECT app, name FROM {quote(schema)}.django_migrations")  # noqa: S608
        return {(app, name) for app, name in cursor.fetchall()}


def fingerprint_of(applied: set[tuple[str, str]]) -> str:
    return hashlib.sha256(",".join(sorted(f"{a}.{n}" for a, n in applied)).encode()).hexdigest()[:32]


# The digest of a django_migrations table, computed by the server; equal to `fingerprint_of` of its rows.
FINGERPRINT_SQL = (
    "SELECT left(encode(sha256(convert_to(coalesce(string_agg(app || '.' || name, ','"
    " ORDER BY (app || '.' || name) COLLATE \"C\"), ''), 'UTF8')), 'hex'), 32) FROM {table}"
)


def migrations_fingerprint(schema: str) -> str | None:
    """A digest of the schema's applied migrations (one short query), None when it has no django_migrations."""
    table = f"{quote(schema)}.django_migrations"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT CASE WHEN to_regclass(%s) IS NULL THEN NULL ELSE ({FINGERPRINT_SQL.format(table=table)}) END",
            [table],
        )
        row = cursor.fetchone()
    return row[0] if row else None


class _Graph:
    """The code's migration graph, loaded once per process: is a set of applied migrations up to date?"""

    _lock = threading.Lock()
    _loader: MigrationLoader | None = None
    _verdicts: dict[str, bool] = {}

    @classmethod
    def loader(cls) -> MigrationLoader:
        with cls._lock:
            if cls._loader is None:
                cls._loader = MigrationLoader(None, ignore_no_migrations=True)
            return cls._loader

    @classmethod
    def known_verdict(cls, fingerprint: str) -> bool | None:
        return cls._verdicts.get(fingerprint)

    @classmethod
    def is_current(cls, applied: set[tuple[str, str]] | frozenset[tuple[str, str]], fingerprint: str = "") -> bool:
        key = fingerprint or fingerprint_of(set(applied))
        verdict = cls._verdicts.get(key)
        if verdict is None:
            loader = cls.loader()
            graph = loader.graph
            needed: set[tuple[str, str]] = set()
            for leaf in graph.leaf_nodes():
                needed.update(graph.forwards_plan(leaf))
            verdict = True
            for node in needed:
                if node in applied:
                    continue
                replacing = loader.replacements.get(node)
                if replacing is not None and all(tuple(r) in applied for r in replacing.replaces):
                    continue
                verdict = False
                break
            cls._verdicts[key] = verdict
        return verdict

    @classmethod
    def reset(cls) -> None:
        with cls._lock:
            cls._loader = None
            cls._verdicts.clear()


def schema_is_current(schema: str) -> bool:
    """Whether the schema has every migration the code knows (one short query once the verdict is known)."""
    fingerprint = migrations_fingerprint(schema)
    if fingerprint is None:
        return False
    verdict = _Graph.known_verdict(fingerprint)
    if verdict is None:
        applied = applied_migrations(schema) or set()
        verdict = _Graph.is_current(applied, fingerprint_of(applied))
    return verdict
