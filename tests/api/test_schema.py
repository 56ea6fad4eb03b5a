"""The OpenAPI document: generated without a single warning (a warning fails this test), valid OpenAPI 3, with the
bearer-key scheme on every operation; the docs page is served from the sidecar's files on this host, never a CDN."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from django.core.management import call_command

from tests.conftest import HostClient

EXPECTED_PATHS = {
    "/api/v1/me/",
    "/api/v1/labels/",
    "/api/v1/projects/",
    "/api/v1/projects/{id}/",
    "/api/v1/projects/{id}/archive/",
    "/api/v1/projects/{id}/restore/",
    "/api/v1/projects/{project_id}/tasks/",
    "/api/v1/projects/{project_id}/tasks/{id}/",
    "/api/v1/projects/{project_id}/tasks/{id}/move/",
    "/api/v1/projects/{project_id}/tasks/{task_id}/comments/",
    "/api/v1/projects/{project_id}/tasks/{task_id}/comments/{id}/",
    "/api/v1/projects/{project_id}/sharing/",
    "/api/v1/projects/{project_id}/documents/",
    "/api/v1/projects/{project_id}/documents/{id}/",
    "/api/v1/projects/{project_id}/documents/{id}/confirm/",
    "/api/v1/projects/{project_id}/documents/{id}/cancel/",
    "/api/v1/projects/{project_id}/documents/{id}/download/",
    "/api/v1/members/",
    "/api/v1/members/leave/",
    "/api/v1/members/{id}/",
    "/api/v1/members/{id}/transfer-ownership/",
    "/api/v1/invitations/",
    "/api/v1/invitations/{id}/",
    "/api/v1/invitations/{id}/resend/",
    "/api/v1/webhooks/",
    "/api/v1/webhooks/{id}/",
    "/api/v1/webhooks/{id}/rotate-secret/",
    "/api/v1/webhooks/{id}/test/",
    "/api/v1/webhooks/{endpoint_id}/deliveries/",
    "/api/v1/webhooks/{endpoint_id}/deliveries/{id}/",
    "/api/v1/webhooks/{endpoint_id}/deliveries/{id}/resend/",
}


def test_the_schema_generates_without_warnings_and_validates(tmp_path: Any) -> None:
    out = tmp_path / "schema.yaml"
    # --fail-on-warn turns any drf-spectacular warning or error into a failure; --validate checks it against the
    # OpenAPI 3 JSON schema.
    call_command("spectacular", "--urlconf", "config.urls_tenants", "--fail-on-warn", "--validate", "--file", str(out))
    schema = yaml.safe_load(out.read_text())
    assert schema["openapi"].startswith("3.")
    assert set(schema["paths"]) == EXPECTED_PATHS
    tasks = {p["name"] for p in schema["paths"]["/api/v1/projects/{project_id}/tasks/"]["get"]["parameters"]}
    assert tasks >= {"status", "assignee", "unassigned", "due_before", "due_after", "search", "ordering", "cursor"}
    docs = {p["name"] for p in schema["paths"]["/api/v1/projects/{project_id}/documents/"]["get"]["parameters"]}
    assert docs >= {"task", "file_type", "search", "ordering", "cursor"}


@pytest.fixture
def served(tenant_client: HostClient) -> dict[str, Any]:
    response = tenant_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return dict(response.json())


def test_the_served_schema_shows_the_bearer_key_on_every_operation(served: dict[str, Any]) -> None:
    schemes = served["components"]["securitySchemes"]
    assert schemes["apiKey"]["type"] == "http"
    assert schemes["apiKey"]["scheme"] == "bearer"
    for path, operations in served["paths"].items():
        for method, operation in operations.items():
            assert {"apiKey": []} in operation["security"], (method, path)
            for code in ("401", "403", "404", "429"):
                error = operation["responses"][code]["content"]["application/json"]["schema"]
                assert error == {"$ref": "#/components/schemas/Error"}, (method, path, code)
            success = next(c for c in operation["responses"] if c.startswith(("2", "3")))  # a download: 302
            assert "RateLimit-Remaining" in operation["responses"][success].get("headers", {}), (method, path)
            assert "Retry-After" in operation["responses"]["429"]["headers"]


def test_the_docs_page_is_served_from_this_host_with_no_cdn(tenant_client: HostClient) -> None:
    page = tenant_client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    # The page has no inline script (Content Security Policy): its init script, which names the schema, is a file.
    assert "<script>" not in html
    script = tenant_client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in script.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assets = [s for s in sources if s.endswith((".js", ".css", ".png"))]
    assert assets, sources
    assert all(s.startswith("/static/") for s in assets), sources
    assert any(s.startswith("/static/drf_spectacular_sidecar/") for s in assets), sources
    # Every URL the page names is this host's (a random CSRF token may spell "cdn": look at addresses, not text).
    addresses = re.findall(r"(?:https?:)?//[^\s\"'<>]+", html)
    assert addresses == [], addresses
    assert all(host not in html.lower() for host in ("unpkg.com", "jsdelivr.net", "cdnjs.", "cdn."))
    for asset in assets:
        served = tenant_client.get(asset)
        assert served.status_code == 200, asset
        b"".join(served.streaming_content) if served.streaming else served.content  # type: ignore[attr-defined]
