"""One error shape for every refusal — 400, 401, 402, 403, 404, 405, 409, 415, 429, 500 — from the views, the
middleware in front of them and Django's own handlers; and the API never answers with HTML. Hostile input (NUL,
far dates, huge ids and numbers, control characters, tampered cursors, huge bodies) gets a clear refusal, never a
500."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from billing.models import BillingAccount
from shared_apps.accounts.models import Role, User
from tenant_apps.projects import selectors
from tenants import routing
from tenants.models import Tenant, TenantStatus
from tests.api.conftest import error_of
from tests.conftest import HostClient, client_for
from tests.factories import MembershipFactory
from tests.projects.conftest import Site

JSON = "application/json"


def test_validation_errors_name_their_fields(api: HostClient, workspace_site: Site) -> None:
    response = api.post("/api/v1/projects/", {"name": "", "visibility": "everyone"}, content_type=JSON)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {"name", "visibility"}
    nested = api.post("/api/v1/invitations/", {"emails": ["ok@example.com", "not-an-email"]}, content_type=JSON)
    assert error_of(nested)["fields"] == {"emails.1": ["Enter a valid email address."]}
    service = api.post("/api/v1/projects/", {"name": "tab\there"}, content_type=JSON)
    assert service.status_code == 400
    assert error_of(service)["fields"] == {"name": ["Name can't contain line breaks or control characters."]}


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("post", "/api/v1/projects/", "{not json", 400, "parse_error"),
        ("post", "/api/v1/projects/", "[1, 2]", 400, "invalid"),
        ("post", "/api/v1/projects/", "[" * 1000 + "]" * 1000, 400, "parse_error"),
        ("post", "/api/v1/projects/", '{"name": ' * 1000 + "1" + "}" * 1000, 400, "parse_error"),
        ("post", "/api/v1/projects/{p}/tasks/", '{"x": ' + "[" * 100_000 + "]" * 100_000 + "}", 400, "parse_error"),
        ("post", "/api/v1/projects/", '{"name": "a\\u0000b"}', 400, "invalid"),
        ("post", "/api/v1/projects/", '{"name": "' + "x" * 5000 + '"}', 400, "invalid"),
        ("post", "/api/v1/projects/{p}/tasks/", '{"title": "t", "due_date": "9999-12-31"}', 400, "invalid"),
        ("post", "/api/v1/projects/{p}/tasks/", '{"title": "t", "due_date": "10000-01-01"}', 400, "invalid"),
        ("post", "/api/v1/projects/{p}/tasks/", '{"title": "t", "assignee": 99999999999999999999999}', 400, "invalid"),
        ("post", "/api/v1/projects/{p}/tasks/", '{"title": "t", "assignee": 424242}', 400, "invalid"),
        ("post", "/api/v1/projects/{p}/tasks/{t}/move/", '{"status": "done", "position": -1}', 400, "invalid"),
        ("post", "/api/v1/projects/{p}/tasks/{t}/move/", '{"status": "done", "position": 1e309}', 400, "invalid"),
        ("get", "/api/v1/projects/99999999999999999999999999/", None, 404, "not_found"),
        ("get", "/api/v1/projects/-1/", None, 404, "not_found"),
        ("get", "/api/v1/projects/0/", None, 404, "not_found"),
        ("get", "/api/v1/projects/{p}/tasks/?assignee=99999999999999999999", None, 400, "invalid"),
        ("get", "/api/v1/projects/{p}/tasks/?due_before=99999-01-01", None, 400, "invalid"),
        ("get", "/api/v1/projects/?visibility=%00", None, 400, "invalid"),
        ("get", "/api/v1/projects/?cursor=garbage", None, 404, "not_found"),
        ("get", "/api/v1/nothing-here/", None, 404, "not_found"),
        ("put", "/api/v1/projects/{p}/", "{}", 405, "method_not_allowed"),
        ("options", "/api/v1/projects/", None, 405, "method_not_allowed"),
    ],
)
def test_refusals_come_in_the_one_shape(
    api: HostClient, workspace_site: Site, method: str, path: str, body: str | None, status: int, code: str
) -> None:
    path = path.format(p=workspace_site.project.pk, t=workspace_site.task.pk)
    call = getattr(api, method)
    response = call(path, body, content_type=JSON) if body is not None else call(path)
    assert response.status_code == status, response.content[:500]
    assert error_of(response)["code"] == code


def test_unsupported_media_is_a_415(api: HostClient) -> None:
    response = api.post("/api/v1/projects/", "name=x", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"


def test_tampered_cursors_are_not_found_never_a_server_error(api: HostClient, workspace_site: Site) -> None:
    first = api.get("/api/v1/projects/?page_size=1&show=all").json()
    assert first["results"]
    for position in ("\x00", "2024-13-45", "banana", "9" * 40, "x" * 400):
        for ordering in ("name", "-created_at", "updated_at"):
            cursor = base64.b64encode(f"o=0&p={position}".encode()).decode()
            response = api.get(f"/api/v1/projects/?ordering={ordering}&cursor={cursor}")
            assert response.status_code in (200, 404), (position, ordering, response.content[:200])
            if response.status_code == 404:
                error_of(response)
    task_cursor = base64.b64encode(b"o=0&p=99999999999999999999999").decode()
    tasks = api.get(f"/api/v1/projects/{workspace_site.project.pk}/tasks/?cursor={task_cursor}")
    assert tasks.status_code == 404


def test_search_with_nul_and_control_characters_is_just_a_search(api: HostClient, workspace_site: Site) -> None:
    for term in ("%00", "a%00b", "%0d%0a", "x" * 1000, "%E2%80%A8"):
        response = api.get(f"/api/v1/projects/?search={term}")
        assert response.status_code == 200, (term, response.content[:200])


def test_conflicts_are_409(tenant: Tenant, owner: User, api: HostClient) -> None:
    BillingAccount.objects.create(tenant=tenant, plan="free", status="active")
    for i in range(3):
        assert api.post("/api/v1/projects/", {"name": f"P{i}"}, content_type=JSON).status_code == 201
    response = api.post("/api/v1/projects/", {"name": "One too many"}, content_type=JSON)
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "plan_limit_reached"
    assert "The Free plan includes 3 projects" in error["message"]


def test_a_read_only_workspace_refuses_writes_with_402_and_still_reads(tenant: Tenant, api: HostClient) -> None:
    Tenant.objects.filter(pk=tenant.pk).update(status=TenantStatus.READ_ONLY)

    routing.clear()
    assert api.get("/api/v1/projects/").status_code == 200
    response = api.post("/api/v1/projects/", {"name": "x"}, content_type=JSON)
    assert response.status_code == 402
    assert error_of(response)["code"] == "workspace_read_only"


@pytest.mark.parametrize(
    ("status", "code", "http"),
    [
        (TenantStatus.SUSPENDED, "workspace_suspended", 403),
        (TenantStatus.BILLING_SUSPENDED, "workspace_billing_suspended", 403),
        (TenantStatus.SCHEDULED_DELETION, "workspace_scheduled_for_deletion", 410),
    ],
)
def test_the_workspace_state_gate_answers_json_on_the_api(
    tenant: Tenant, api: HostClient, status: str, code: str, http: int
) -> None:

    Tenant.objects.filter(pk=tenant.pk).update(status=status)
    routing.clear()
    response = api.get("/api/v1/projects/")
    assert response.status_code == http
    assert error_of(response)["code"] == code


def test_never_html_not_for_strangers_unknown_hosts_or_server_errors(
    tenant: Tenant, other_tenant: Tenant, outsider: User, api: HostClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    nobody = HostClient("nope.localhost").get("/api/v1/projects/")
    assert nobody.status_code == 404
    assert error_of(nobody)["code"] == "unknown_host"

    stranger = client_for(tenant)
    MembershipFactory.create(tenant=tenant, role=Role.MEMBER, user__email="briefly@acme.test")
    stranger.force_login(outsider)  # signed in on acme's host, a member of globex only
    refused = stranger.get("/api/v1/projects/")
    assert refused.status_code == 403
    assert error_of(refused)["code"] == "not_a_member"

    anonymous = client_for(tenant).get("/api/v1/projects/")
    assert anonymous.status_code == 401
    assert error_of(anonymous)["code"] == "not_authenticated"

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(selectors, "project_list_for_user", broken)
    api.raise_request_exception = False
    crashed = api.get("/api/v1/projects/")
    assert crashed.status_code == 500
    assert error_of(crashed)["code"] == "server_error"
    assert b"a bug" not in crashed.content


def test_a_huge_body_is_refused(api: HostClient) -> None:
    body = '{"name": "x", "description": "' + "y" * (3 * 1024 * 1024) + '"}'
    api.raise_request_exception = False
    response = api.post("/api/v1/projects/", body, content_type=JSON)
    assert response.status_code in (400, 413), response.status_code
    error_of(response)
