"""Sentry, proven with a local transport that keeps every envelope: an exception in a tenant's request and one in a
Celery task arrive tagged with the tenant, the request id and the user id, and carry no PII (no email, cookie,
Authorization header or IP address)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import sentry_sdk
from celery import shared_task
from django_tenants.utils import schema_context
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

from shared_apps.accounts.models import User
from shared_apps.core import context
from shared_apps.core.logging import RequestContextFilter
from shared_apps.core.sentry import init_sentry, scrub
from tenants.models import Tenant
from tests.conftest import HostClient, client_for

SECRET_EMAIL = "owner@acme.test"


class CapturingTransport(Transport):
    """Keeps the events instead of sending them anywhere."""

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.events: list[dict[str, Any]] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        event = envelope.get_event()
        if event is not None:
            self.events.append(dict(event))


@pytest.fixture
def sentry_events() -> Iterator[list[dict[str, Any]]]:
    transport = CapturingTransport()
    init_sentry("http://public@127.0.0.1:9/1", environment="test", transport=transport)
    try:
        yield transport.events
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.init()  # no DSN: off again for the other tests


def _assert_no_pii(event: dict[str, Any], *secrets: str) -> None:
    text = json.dumps(event, default=str)
    for secret in (SECRET_EMAIL, "sessionid", "Bearer", "203.0.113.9", "csrftoken", *secrets):
        assert secret not in text, f"{secret!r} reached Sentry"
    assert set(event.get("user", {})) <= {"id"}


@shared_task(name="tests.sentry.failing_task")
def failing_task(note: str) -> None:
    logging.getLogger("atrium.tests.sentry").warning("task about to fail for %s", note)
    raise RuntimeError(f"task failed for {note}")


def test_an_exception_in_a_tenant_request_is_tagged_and_has_no_pii(
    sentry_events: list[dict[str, Any]], tenant: Tenant, owner: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a page that fails with an email in its message
    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError(f"cannot list projects for {SECRET_EMAIL}")

    monkeypatch.setattr("tenant_apps.projects.selectors.project_list_for_user", boom)
    client: HostClient = client_for(tenant)
    client.raise_request_exception = False
    client.force_login(owner)

    # when
    response = client.get(
        "/projects/?email=owner@acme.test",
        HTTP_X_REQUEST_ID="req-sentry-1",
        HTTP_AUTHORIZATION="Bearer secret-token",
        HTTP_X_FORWARDED_FOR="203.0.113.9",
        REMOTE_ADDR="203.0.113.9",
    )

    # then
    assert response.status_code == 500
    errors = [e for e in sentry_events if e.get("level") == "error" and e.get("exception")]
    assert errors, sentry_events
    event = errors[-1]
    assert event["tags"]["tenant"] == tenant.schema_name
    assert event["tags"]["tenant_slug"] == "acme"
    assert event["tags"]["request_id"] == "req-sentry-1"
    assert event["tags"]["user_id"] == str(owner.pk)
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"
    assert "[redacted]" in event["exception"]["values"][-1]["value"]
    headers = {k.lower() for k in event.get("request", {}).get("headers", {})}
    assert not headers & {"cookie", "authorization", "x-forwarded-for"}
    _assert_no_pii(event, "secret-token")


def test_a_failing_task_reports_the_tenant_it_ran_for(
    sentry_events: list[dict[str, Any]], tenant: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    # given a task enqueued for acme's schema from outside any request (eager, as in tests)
    caplog.handler.addFilter(RequestContextFilter())
    # when (eager tasks propagate their exception to the caller)
    with (
        schema_context("public"),
        context.bound(context.RequestContext(request_id="req-task-7")),
        pytest.raises(RuntimeError, match="task failed"),
    ):
        failing_task.apply_async(args=(SECRET_EMAIL,), headers={"_schema_name": tenant.schema_name})

    # then
    events = [e for e in sentry_events if e.get("exception")]
    assert events, sentry_events
    event = events[-1]
    assert event["tags"]["tenant"] == tenant.schema_name
    assert event["tags"]["request_id"] == "req-task-7"
    assert "user_id" not in event["tags"]
    _assert_no_pii(event)
    records = [r for r in caplog.records if r.name == "atrium.tests.sentry"]
    assert [getattr(r, "tenant", None) for r in records] == [tenant.schema_name]


def test_scrub_removes_user_fields_cookies_and_addresses() -> None:
    event = {
        "user": {"id": 5, "email": SECRET_EMAIL, "ip_address": "203.0.113.9", "username": "x"},
        "request": {
            "url": "http://acme.localhost/projects/",
            "query_string": f"email={SECRET_EMAIL}",
            "cookies": {"sessionid": "abc"},
            "data": {"password": "hunter2"},
            "headers": {"Cookie": "sessionid=abc", "Authorization": "Bearer t", "User-Agent": "pytest"},
            "env": {"REMOTE_ADDR": "203.0.113.9", "SERVER_PORT": "80"},
        },
        "breadcrumbs": {"values": [{"message": f"login {SECRET_EMAIL} from 203.0.113.9"}]},
        "extra": {"who": [SECRET_EMAIL]},
        "server_name": "web-1",
    }

    cleaned = scrub(event, {})

    assert cleaned["user"] == {"id": 5}
    assert cleaned["request"]["headers"] == {"User-Agent": "pytest"}
    assert cleaned["request"]["env"] == {"SERVER_PORT": "80"}
    _assert_no_pii(cleaned, "hunter2", "web-1")
