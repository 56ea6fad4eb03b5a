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
