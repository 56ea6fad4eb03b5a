"""Which database errors are a moment's unavailability (answered 503 with Retry-After) and which are bugs (500)."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from django.db import DatabaseError, IntegrityError, InterfaceError, InternalError, OperationalError, connections
from django.test import RequestFactory

from shared_apps.core.api import database_unreachable, handler500


def _wrapped(django_error: type[DatabaseError], cause: BaseException) -> DatabaseError:
    """The error as Django raises it: its own class, psycopg's error as the cause (DatabaseErrorWrapper)."""
    error = django_error(*cause.args)
    error.__cause__ = cause
    return error


@pytest.mark.parametrize("error", [OperationalError("server closed the connection"), InterfaceError("closed")])
def test_a_lost_or_refused_connection_is_unavailability(error: Exception) -> None:
    assert database_unreachable(error)


def test_a_protocol_out_of_step_is_unavailability() -> None:
    # what a pooler's error arriving in place of BEGIN's answer gives: psycopg's own InternalError, no SQLSTATE
    error = _wrapped(InternalError, psycopg.InternalError("received 2 results from command 'BEGIN'"))

    assert database_unreachable(error)


@pytest.mark.parametrize(
    "error",
    [
        _wrapped(InternalError, psycopg.errors.lookup("XX000")("the server's own internal error")),
        _wrapped(IntegrityError, psycopg.errors.lookup("23505")("duplicate key")),
        InternalError("no cause"),
        ValueError("not the database's"),
        None,
    ],
    ids=["server-internal-error", "integrity", "no-cause", "not-database", "none"],
)
def test_anything_else_is_a_bug(error: Any) -> None:
    assert not database_unreachable(error)


@pytest.mark.django_db
def test_the_503_drops_a_connection_that_went_out_of_step(monkeypatch: pytest.MonkeyPatch) -> None:
    # given: a connection of its own (the test's transaction stays on the default one) in use when psycopg reported
    # the protocol out of step
    own = connections.create_connection("default")
    own.ensure_connection()
    monkeypatch.setattr(connections, "all", lambda initialized_only=False: [own])
    error = _wrapped(InternalError, psycopg.InternalError("received 2 results from command 'COMMIT'"))

    # when: Django's 500 handler runs inside the except that caught it
    try:
        raise error
    except InternalError:
        response = handler500(RequestFactory().post("/api/v1/projects/1/tasks/"))

    # then: a 503 in the API's shape, and the connection is closed (the next statement opens a new one)
    assert response.status_code == 503
    assert response["Retry-After"]
    assert own.connection is None
