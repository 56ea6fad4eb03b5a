"""The on-demand TLS ask endpoint: yes (200) only for hosts Atrium routes, no (404) for the rest, 400 for junk, cheap,
answered on any host, and saying nothing beyond yes or no."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from shared_apps.core import ratelimit
from shared_apps.workspaces import services
from tenants import routing
from tenants.models import Tenant


def ask(domain: str | None, *, host: str = "web:8000", **params: str) -> Any:
    query = {**({"domain": domain} if domain is not None else {}), **params}
    return Client(HTTP_HOST=host).get("/internal/tls-allowed", query)


@pytest.fixture(autouse=True)
def _still_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit, "_clock", lambda: 1_800_000_030.0)  # the middle of one rate-limit window


def test_known_hosts_are_allowed(tenant: Tenant, other_tenant: Tenant) -> None:
    services.workspace_domain_add(tenant=tenant, domain="projects.acme-corp.test", acting_user=None)

    for domain in ("acme.localhost", "globex.localhost", "projects.acme-corp.test", "localhost", "ACME.localhost."):
        response = ask(domain)
        assert response.status_code == 200, domain
        assert response.content == b"ok\n"


def test_unknown_hosts_are_not(tenant: Tenant) -> None:
    for domain in ("nobody.localhost", "acme.localhost.evil.test", "evil.test", "www.localhost", "acme.example.com"):
        response = ask(domain)
        assert response.status_code == 404, domain
        assert response.content == b"unknown\n"


@pytest.mark.parametrize(
    "domain",
    [
        None,
        "",
        "acme.localhost\x00",
        "a" * 300,
        ".".join(["a" * 63] * 5),  # 319 characters
        "a" * 64 + ".localhost",
        "acme.localhost:443",
        "acme..localhost",
        "-acme.localhost",
        "acme-.localhost",
        "acme.localhost/x",
        "acme_x.localhost",
        "äcme.localhost",
        "acme.localhost\r\nX: y",
        " acme.localhost",
        "*.localhost",
    ],
)
def test_junk_is_refused_before_any_lookup(domain: str | None, tenant: Tenant) -> None:
    with CaptureQueriesContext(connection) as queries:
        response = ask(domain)

    assert response.status_code == 400
    assert response.content == b"not a host name\n"
    assert queries.captured_queries == []


def test_the_answer_says_yes_or_no_and_nothing_else(tenant: Tenant, other_tenant: Tenant) -> None:
    services.workspace_suspend(tenant=other_tenant, acting_user=None)
    acme, globex = ask("acme.localhost"), ask("globex.localhost")

    assert (acme.status_code, acme.content) == (globex.status_code, globex.content) == (200, b"ok\n")
    assert set(acme.headers) == set(globex.headers)
    for response in (acme, globex, ask("nobody.localhost")):
        body = response.content.decode()
        assert tenant.schema_name not in body
        assert "Acme" not in body
        assert "Globex" not in body
        assert "Set-Cookie" not in response.headers


def test_it_is_cheap_one_query_cold_none_warm(tenant: Tenant) -> None:
    routing.clear()
    with CaptureQueriesContext(connection) as cold:
        assert ask("acme.localhost").status_code == 200
        assert ask("nobody.localhost").status_code == 404
    with CaptureQueriesContext(connection) as warm:
        assert ask("acme.localhost").status_code == 200
        assert ask("nobody.localhost").status_code == 404

    lookups = [q for q in cold.captured_queries if "tenants_domain" in q["sql"]]
    assert len(lookups) == 2  # one per host
    assert [q for q in warm.captured_queries if "tenants_domain" in q["sql"]] == []


def test_a_secret_when_set_is_required(tenant: Tenant, settings: Any) -> None:
    settings.TLS_ASK_SECRET = "s3cret-ask-token"

    assert ask("acme.localhost").status_code == 403
    assert ask("acme.localhost", token="wrong").status_code == 403
    assert ask("acme.localhost", token="s3cret-ask-token").status_code == 200


def test_it_is_rate_limited_per_client(tenant: Tenant, settings: Any) -> None:
    settings.TLS_ASK_RATE_PER_MINUTE = 3

    codes = [ask(f"guess{i}.localhost").status_code for i in range(4)]

    assert codes == [404, 404, 404, 429]
    other = Client(HTTP_HOST="web:8000", REMOTE_ADDR="10.0.0.9").get(
        "/internal/tls-allowed", {"domain": "acme.localhost"}
    )
    assert other.status_code == 200


def test_only_get_is_answered(tenant: Tenant) -> None:
    response = Client(HTTP_HOST="web:8000").post("/internal/tls-allowed?domain=acme.localhost")

    assert response.status_code == 405
