from __future__ import annotations

import json
import logging

import pytest
from django.db import OperationalError, connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils.functional import SimpleLazyObject

from shared_apps.core.context import RequestContext, bound, current_request
from shared_apps.core.health import _check_database
from shared_apps.core.logging import JsonFormatter, RequestContextFilter


@pytest.mark.parametrize("host", ["localhost", "acme.localhost", "nope.localhost", "10.0.0.7"])
def test_healthz_answers_on_any_host_without_the_database(host: str, db: None) -> None:
    with CaptureQueriesContext(connection) as queries:
        response = Client(HTTP_HOST=host).get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert queries.captured_queries == []


@pytest.mark.parametrize("host", ["localhost", "acme.localhost", "10.0.0.7"])
def test_readyz_checks_database_and_cache(host: str, db: None) -> None:
    response = Client(HTTP_HOST=host).get("/readyz")

    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert {"database", "cache"} <= set(body["checks"])
    assert all(check["ok"] for check in body["checks"].values())


def test_readyz_names_the_failing_part(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_cache() -> None:
        raise ConnectionError("redis is down")

    monkeypatch.setattr("shared_apps.core.health._check_cache", broken_cache)

    response = Client(HTTP_HOST="localhost").get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["cache"]
    assert body["checks"]["cache"] == {"ok": False, "error": "ConnectionError: redis is down"}
    assert body["checks"]["database"]["ok"] is True


def test_responses_echo_a_safe_request_id_or_make_one(tenant_client: Client) -> None:
    assert tenant_client.get("/login/", HTTP_X_REQUEST_ID="req-123")["X-Request-ID"] == "req-123"
    made = tenant_client.get("/login/", HTTP_X_REQUEST_ID="bad id\nwith newline")["X-Request-ID"]
    assert len(made) == 32
    assert made.isalnum()


def test_log_lines_carry_tenant_request_id_and_user(tenant, owner, rf, in_tenant) -> None:

    request = rf.get("/")
    request.user = SimpleLazyObject(lambda: owner)
    _ = request.user.pk  # the request has loaded its user
    record = logging.LogRecord("atrium", logging.INFO, __file__, 1, "hello", None, None)

    token = current_request.set(request)
    try:
        with in_tenant(tenant), bound(RequestContext(request_id="req-456")):
            RequestContextFilter().filter(record)
    finally:
        current_request.reset(token)

    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "hello"
    assert line["request_id"] == "req-456"
    assert line["user_id"] == owner.pk
    assert line["tenant"] == tenant.schema_name


UNREACHABLE = "redis://127.0.0.1:18299/0"  # a loopback port nothing listens on


def test_readyz_names_redis_and_the_broker_when_they_are_unreachable(db: None, settings: pytest.FixtureRequest) -> None:
    settings.REDIS_URL = UNREACHABLE  # type: ignore[attr-defined]
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:18299/1"  # type: ignore[attr-defined]
    settings.READYZ_TIMEOUT = 0.5  # type: ignore[attr-defined]

    response = Client(HTTP_HOST="localhost").get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert sorted(body["failing"]) == ["broker", "redis"]
    assert body["checks"]["database"]["ok"] is True
    assert "18299" in body["checks"]["redis"]["error"] or "refused" in body["checks"]["redis"]["error"].lower()


def test_readyz_checks_redis_only_when_it_is_configured(db: None, settings: pytest.FixtureRequest) -> None:
    settings.REDIS_URL = ""  # type: ignore[attr-defined]
    settings.CELERY_BROKER_URL = ""  # type: ignore[attr-defined]

    body = Client(HTTP_HOST="localhost").get("/readyz").json()

    assert "redis" not in body["checks"]
    assert "broker" not in body["checks"]


def test_readyz_reports_a_database_that_does_not_answer(db: None, monkeypatch: pytest.MonkeyPatch) -> None:

    def unreachable() -> None:
        raise OperationalError('connection to server at "127.0.0.1", port 18298 failed: Connection refused')

    monkeypatch.setattr("shared_apps.core.health._check_database", unreachable)

    response = Client(HTTP_HOST="localhost").get("/readyz")

    assert response.status_code == 503
    assert response.json()["failing"] == ["database"]


def test_the_database_check_sets_a_statement_timeout_for_itself_only(db: None, settings: pytest.FixtureRequest) -> None:

    settings.READYZ_TIMEOUT = 0.25  # type: ignore[attr-defined]
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        before = cursor.fetchone()[0]
        with CaptureQueriesContext(connection) as queries:
            _check_database()
        cursor.execute("SHOW statement_timeout")
        after = cursor.fetchone()[0]

    assert any("250ms" in str(q["sql"]) for q in queries.captured_queries)
    assert after == before  # SET LOCAL semantics: the connection's own setting is untouched
