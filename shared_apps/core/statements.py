"""Count the statements a block of code sends to PostgreSQL, at the psycopg level.

Django's query log (`CaptureQueriesContext`) sees only what goes through Django's cursor wrapper; this sees every
`execute` on any psycopg cursor, including the ones django-tenants and Django's health checks open on the raw
connection. Used by the routing tests and `bench/routing.py`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg


class StatementLog:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def __len__(self) -> int:
        return len(self.statements)

    def matching(self, fragment: str) -> list[str]:
        return [s for s in self.statements if fragment.lower() in s.lower()]


_lock = threading.Lock()


@contextmanager
def count_statements() -> Iterator[StatementLog]:
    """Record every statement psycopg executes (in any thread) while the block runs."""
    log = StatementLog()
    original_execute = psycopg.Cursor.execute
    original_executemany = psycopg.Cursor.executemany

    def _text(query: Any) -> str:
        if isinstance(query, bytes):
            return query.decode()
        if isinstance(query, str):
            return query
        return repr(query)

    def execute(self: psycopg.Cursor[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
        log.statements.append(_text(query))
        return original_execute(self, query, *args, **kwargs)

    def executemany(self: psycopg.Cursor[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
        log.statements.append(_text(query))
        return original_executemany(self, query, *args, **kwargs)

    with _lock:
        psycopg.Cursor.execute = execute  # type: ignore[method-assign]
        psycopg.Cursor.executemany = executemany  # type: ignore[method-assign]
    try:
        yield log
    finally:
        with _lock:
            psycopg.Cursor.execute = original_execute  # type: ignore[method-assign]
            psycopg.Cursor.executemany = original_executemany  # type: ignore[method-assign]
