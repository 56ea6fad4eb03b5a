from __future__ import annotations

import dataclasses
from dataclasses import asdict
from typing import Any

import pytest
from django.core.cache import caches
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from shared_apps.core.statements import count_statements
from tenants import routing
from tenants.models import Domain, RouteSnapshotReadOnly, Tenant
from tests.conftest import host_of


def test_root_domain_serves_the_public_site(public_client: Client) -> None:
    response = public_client.get("/")

    assert response.status_code == 200
    assert b"Create your workspace" in response.content
    assert response.wsgi_request.urlconf == "config.urls_public"  # type: ignore[attr-defined]


def test_tenant_host_serves_the_tenant_urlconf(tenant_client: Client, owner: object) -> None:
    tenant_client.force_login(owner)  # type: ignore[arg-type]

    response = tenant_client.get("/")

    assert response.status_code == 200
    assert response.wsgi_request.urlconf == "config.urls_tenants"  # type: ignore[attr-defined]
    assert b"Acme Inc" in response.content


@pytest.mark.usefixtures("tenant")
def test_unknown_host_gets_the_404_page_never_the_public_site() -> None:
    client = Client(HTTP_HOST="nope.localhost")

    response = client.get("/")

    assert response.status_code == 404
    assert b"nope.localhost" in response.content
    assert b"Create your workspace" in response.content  # the page offers a way out...
    assert response.wsgi_request.urlconf == "config.urls_public"  # type: ignore[attr-defined]
    assert client.get("/admin/").status_code == 404  # ...but serves nothing of the public site


@pytest.mark.usefixtures("tenant")
def test_a_host_outside_allowed_hosts_is_refused() -> None:
    assert Client(HTTP_HOST="evil.example.com").get("/").status_code == 400


def test_tenant_page_issues_zero_routing_queries_on_a_warm_cache(tenant_client: Client, owner: object) -> None:
    # given a warm routing cache
    tenant_client.force_login(owner)  # type: ignore[arg-type]
    tenant_client.get("/")

    # when
    with CaptureQueriesContext(connection) as queries:
        response = tenant_client.get("/")

    # then
    assert response.status_code == 200
    statements = [q["sql"] for q in queries.captured_queries]
    assert not [s for s in statements if "tenants_" in s], statements
    # session, user, membership, the projects and the tasks assigned to you: the connection already points at acme,
    # so no SET search_path either
    assert len(statements) == 5, statements


def test_a_cold_cache_costs_one_routing_query(tenant_client: Client) -> None:
    with CaptureQueriesContext(connection) as queries:
        tenant_client.get("/login/")

    assert len([q for q in queries.captured_queries if "tenants_domain" in q["sql"]]) == 1


def test_the_shared_cache_serves_other_processes_without_a_query(tenant_client: Client) -> None:
    tenant_client.get("/login/")
    routing.clear()  # a new process: empty local cache, warm shared cache

    with CaptureQueriesContext(connection) as queries:
        tenant_client.get("/login/")

    assert not [q for q in queries.captured_queries if "tenants_" in q["sql"]]


@pytest.mark.usefixtures("tenant")
def test_unknown_hosts_are_cached_too() -> None:
    client = Client(HTTP_HOST="ghost.localhost")
    client.get("/")

    with CaptureQueriesContext(connection) as queries:
        assert client.get("/").status_code == 404

    assert queries.captured_queries == []


def test_renaming_a_domain_invalidates_the_route(tenant: Tenant, tenant_client: Client) -> None:
    tenant_client.get("/login/")
    domain = Domain.objects.get(tenant=tenant, is_primary=True)

    domain.domain = "acme-renamed.localhost"
    domain.save()

    assert tenant_client.get("/login/").status_code == 404
    assert Client(HTTP_HOST="acme-renamed.localhost").get("/login/").status_code == 200


def test_a_new_domain_is_routable_at_once_even_after_a_cached_miss(tenant: Tenant) -> None:
    client = Client(HTTP_HOST="acme-extra.localhost")
    assert client.get("/login/").status_code == 404

    Domain.objects.create(tenant=tenant, domain="acme-extra.localhost", is_primary=False)

    assert client.get("/login/").status_code == 200


def test_renaming_a_tenant_updates_its_pages(tenant: Tenant, tenant_client: Client, owner: object) -> None:
    tenant_client.force_login(owner)  # type: ignore[arg-type]
    tenant_client.get("/")

    tenant.name = "Acme Renamed"
    tenant.save()

    assert b"Acme Renamed" in tenant_client.get("/").content


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Acme.Localhost:8000", "acme.localhost"),
        ("acme.localhost.", "acme.localhost"),
        ("acme.localhost", "acme.localhost"),
        ("[::1]:8000", "[::1]"),
    ],
)
def test_normalise_host(raw: str, expected: str) -> None:
    assert routing.normalise_host(raw) == expected


def test_each_host_is_routed_to_its_own_tenant(tenant: Tenant, other_tenant: Tenant) -> None:
    assert routing.resolve(host_of(tenant)).schema_name == tenant.schema_name  # type: ignore[union-attr]
    assert routing.resolve(host_of(other_tenant)).schema_name == other_tenant.schema_name  # type: ignore[union-attr]


def test_an_anonymous_page_on_a_warm_tenant_sends_no_statement(tenant_client: Client) -> None:

    tenant_client.get("/login/")

    with count_statements() as log:
        response = tenant_client.get("/login/")

    assert response.status_code == 200
    assert log.statements == []  # no routing query, no SET, no session or user load without a session cookie


@pytest.mark.usefixtures("tenant")
def test_a_refused_host_stays_refused_after_good_hosts_were_cached(tenant_client: Client) -> None:
    tenant_client.get("/login/")

    assert Client(HTTP_HOST="evil.example.com").get("/").status_code == 400
    assert Client(HTTP_HOST="evil.example.com").get("/").status_code == 400


def test_each_request_gets_its_own_read_only_tenant_and_a_frozen_route(tenant: Tenant, tenant_client: Client) -> None:

    first = tenant_client.get("/login/").wsgi_request
    first.tenant.name = "Changed in one request"  # type: ignore[attr-defined]
    second = tenant_client.get("/login/").wsgi_request

    assert second.tenant is not first.tenant  # type: ignore[attr-defined]
    assert second.tenant.name == "Acme Inc"  # type: ignore[attr-defined]
    assert second.tenant.pk == tenant.pk  # type: ignore[attr-defined]
    route = second.route  # type: ignore[attr-defined]
    assert isinstance(route, routing.Route)
    with pytest.raises(dataclasses.FrozenInstanceError):
        route.name = "Changed"  # type: ignore[misc]
    with pytest.raises(RouteSnapshotReadOnly):
        first.tenant.save()  # type: ignore[attr-defined]
    with pytest.raises(RouteSnapshotReadOnly):
        second.tenant.delete()  # type: ignore[attr-defined]
    tenant.refresh_from_db()
    assert tenant.name == "Acme Inc"


def test_the_request_tenant_loads_fields_the_route_does_not_carry_instead_of_inventing_them(
    tenant: Tenant, tenant_client: Client
) -> None:
    snapshot = tenant_client.get("/login/").wsgi_request.tenant  # type: ignore[attr-defined]

    assert snapshot.created_at == tenant.created_at


def test_a_shared_cache_entry_round_trips_and_a_malformed_one_is_reloaded(tenant: Tenant) -> None:

    host = host_of(tenant)
    route = routing.resolve(host)
    assert route is not None
    assert routing.Route.from_dict(asdict(route)) == route

    routing.clear()
    caches["shared"].set(routing._shared_key(host), {"tenant_id": "not a number"}, version=routing._CACHE_VERSION)

    assert routing.resolve(host) == route


# --- hostile Host headers --------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("tenant")
@pytest.mark.parametrize(
    "host",
    [
        "a" * 55_000 + ".localhost",
        ("x" * 64) + ".localhost",
        "bad host.localhost",
        "acme..localhost",
        "acme.localhost\x00",
    ],
)
def test_absurd_hosts_are_refused_before_any_lookup_or_cache(host: str) -> None:

    with count_statements() as statements:
        response = Client(HTTP_HOST=host).get("/")

    assert response.status_code == 400
    assert len(statements) == 0  # no query…
    assert host not in routing._validated_hosts  # …and nothing remembered
    assert routing.local_cache.get(routing.normalise_host(host)) == (False, None)


def test_the_unknown_host_page_carries_the_security_headers(tenant_client: Any) -> None:
    normal = tenant_client.get("/login/")
    unknown = Client(HTTP_HOST="nobody-here.localhost").get("/")

    assert unknown.status_code == 404
    for header in ("X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy", "X-Request-ID"):
        assert unknown.has_header(header), header
        if header != "X-Request-ID":
            assert unknown[header] == normal[header]
