from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext


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
    import json
    import logging

    from django.utils.functional import SimpleLazyObject

    from shared_apps.core.context import RequestContext, bound, current_request
    from shared_apps.core.logging import JsonFormatter, RequestContextFilter

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
