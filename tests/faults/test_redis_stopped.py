"""Redis stopped: pages are still served (the cache and the rate limits degrade, and the log says so), and a task
enqueued meanwhile is kept and queued once Redis is back.

Runs against a redis-server of the test's own on loopback, with the cache and broker settings production uses
(`shared_apps.core.cache.ResilientRedisCache`, Celery over Redis), stopped for real in the middle of the test.
"""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import pytest
import redis

from shared_apps.accounts.models import User
from shared_apps.accounts.services import api_key_create
from shared_apps.core.models import OutboxTask
from shared_apps.core.transactions import outbox_flush
from tenants import routing
from tenants.models import Tenant
from tests.conftest import HostClient, host_of
from tests.faults.servers import redis_available, redis_server, stop

pytestmark = [
    pytest.mark.faults,
    pytest.mark.skipif(not redis_available(), reason="needs redis-server (Debian: apt-get install redis-server)"),
]


def _api_client(tenant: Tenant, owner: User) -> HostClient:
    _key, secret = api_key_create(tenant=tenant, name="faults", scope="write", acting_user=owner)
    return HostClient(host_of(tenant), HTTP_AUTHORIZATION=f"Bearer {secret}")


def test_with_redis_stopped_pages_and_the_api_are_served_and_the_log_says_so(
    redis_up: tuple[Any, int], tenant: Tenant, owner: User, tenant_client: HostClient, caplog: pytest.LogCaptureFixture
) -> None:
    # given: a member's pages and the API, served with Redis up (routes and rate-limit counters in it)
    process, port = redis_up
    tenant_client.force_login(owner)
    api = _api_client(tenant, owner)
    assert tenant_client.get("/projects/").status_code == 200
    assert api.get("/api/v1/projects/").status_code == 200
    assert redis.Redis(port=port).dbsize() > 0  # the cache and the counters were in Redis

    # when: Redis stops (and the process's own route cache has forgotten the host)
    stop(process)
    routing.clear()
    with caplog.at_level(logging.WARNING):
        pages = [tenant_client.get(path) for path in ("/", "/projects/", "/settings/members/")]
        created = api.post("/api/v1/projects/", {"name": "Made without Redis"}, content_type="application/json")
        listed = api.get("/api/v1/projects/")

    # then: every page and API call is answered, the write is made, and the log says what degraded
    assert [p.status_code for p in pages] == [200, 200, 200]
    assert created.status_code == 201, created.content
    assert listed.status_code == 200
    assert "Made without Redis" in {p["name"] for p in listed.json()["results"]}
    messages = [r.getMessage() for r in caplog.records if r.name == "shared_apps.core.cache"]
    assert "redis unreachable: cache degraded (ConnectionError)" in messages
    assert "redis unreachable: rate limits degraded (ConnectionError)" in messages


def test_a_task_enqueued_while_redis_is_down_is_queued_once_it_is_back(
    broker: str,
    redis_up: tuple[Any, int],
    tenant: Tenant,
    owner: User,
    caplog: pytest.LogCaptureFixture,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given: Redis (cache and broker) stopped
    process, port = redis_up
    api = _api_client(tenant, owner)
    stop(process)

    # when: an owner invites someone (the invitation email is a task enqueued after commit)
    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/v1/invitations/", {"emails": ["late@example.com"], "role": "member"}, content_type="application/json"
        )

    # then: the request succeeds, its tasks (the email, the event stream's dispatch) wait in the outbox, and the log
    # says so
    assert response.status_code == 201, response.content
    kept = dict(OutboxTask.objects.values_list("task", "kwargs"))
    assert sorted(kept) == ["accounts.invitation_send", "audit.events_dispatch"]
    assert "broker unreachable: task kept in the outbox until it is back" in caplog.text
    assert outbox_flush() == 0  # still down: nothing sent, nothing lost
    # the flush tried the oldest and stopped there (the broker is still away)
    assert list(OutboxTask.objects.order_by("pk").values_list("attempts", flat=True)) == [1, 0]

    # when: Redis is back, and the outbox is flushed (beat runs `core.outbox_flush` every 10 seconds)
    with redis_server(port):
        sent = outbox_flush()
        queued = redis.Redis(port=port).lrange("celery", 0, -1)

    # then: each task is on the queue, once, with its arguments, and the outbox is empty
    assert sent == 2
    assert not OutboxTask.objects.exists()
    messages = {m["headers"]["task"]: m for m in (json.loads(q) for q in queued)}
    assert len(queued) == 2
    assert sorted(messages) == sorted(kept)
    email = messages["accounts.invitation_send"]
    assert json.loads(base64.b64decode(email["body"]))[1] == kept["accounts.invitation_send"]  # (args, kwargs, embed)
