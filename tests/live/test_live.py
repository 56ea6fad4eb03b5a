"""Live updates: what a stream hears (its workspace, its project, its viewer's bell), the stream URLs' permission
checks, the async path's workspace, and the `live` consumer's announcements."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.db import connection as django_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from shared_apps.core import live
from tenant_apps.audit.models import Event
from tenant_apps.live import services as live_services
from tenant_apps.live.services import StreamScope, stream_async, stream_sync
from tenant_apps.projects import services
from tenant_apps.projects.models import Visibility
from tests.conftest import client_for
from tests.factories import ProjectFactory, TaskFactory

pytestmark = pytest.mark.django_db


def _events(schema: str, project: int, kind: str = "task.moved", actor: int = 0) -> dict[str, Any]:
    return {
        "schema": schema,
        "kind": "events",
        "events": [{"type": kind, "project": project, "task": 7, "actor": actor}],
    }


def test_a_scope_hears_its_workspace_its_project_and_its_bell_only() -> None:
    scope = StreamScope(schema="t_a", user_id=5, project_id=3)
    assert scope.accepts(_events("t_a", 3))
    assert not scope.accepts(_events("t_b", 3))  # another workspace's project 3
    assert not scope.accepts(_events("t_a", 4))  # another project
    assert scope.accepts({"schema": "t_a", "kind": "bell", "users": [5, 6]})
    assert not scope.accepts({"schema": "t_a", "kind": "bell", "users": [6]})
    assert not scope.accepts({"schema": "t_b", "kind": "bell", "users": [5]})
    assert scope.frames(_events("t_a", 3, actor=5)) == [
        ("change", {"type": "task.moved", "task": 7, "mine": True, "at": None, "id": None})
    ]


def test_the_sync_stream_delivers_what_the_bus_fans_out() -> None:
    scope = StreamScope(schema="t_a", user_id=5, project_id=3)
    stream = stream_sync(scope, max_seconds=2)
    assert next(stream).startswith(b"retry:")
    live.hub().fan_out(json.dumps(_events("t_b", 3)))
    live.hub().fan_out(json.dumps(_events("t_a", 3)))
    assert next(stream) == b'event: change\ndata: {"type":"task.moved","task":7,"mine":false,"at":null,"id":null}\n\n'
    stream.close()


def test_the_async_stream_hears_its_own_workspace_only() -> None:
    a = StreamScope(schema="t_a", user_id=5, project_id=3)
    b = StreamScope(schema="t_b", user_id=5, project_id=3)

    async def first_frame(scope: StreamScope) -> bytes:
        stream = stream_async(scope, max_seconds=2)
        await stream.__anext__()  # opened and subscribed
        await asyncio.sleep(0.05)
        return await stream.__anext__()

    async def both() -> list[bytes]:
        tasks = [asyncio.ensure_future(first_frame(a)), asyncio.ensure_future(first_frame(b))]
        await asyncio.sleep(0.1)
        live.hub().fan_out(json.dumps(_events("t_b", 3, kind="task.created")))
        live.hub().fan_out(json.dumps(_events("t_a", 3, kind="task.deleted")))
        return list(await asyncio.gather(*tasks))

    got_a, got_b = asyncio.run(both())
    assert b"task.deleted" in got_a
    assert b"task.created" in got_b


def test_an_async_access_check_sees_its_own_workspace_only(tenant, other_tenant, in_tenant, owner) -> None:
    """The same project id in two workspaces: private in B (the person is not B's member) and open in A; checked
    concurrently from async code, each answer comes from its own workspace's schema."""
    with in_tenant(tenant):
        mine = ProjectFactory.create(visibility=Visibility.WORKSPACE)
    with in_tenant(other_tenant):
        ProjectFactory.create(pk=mine.pk, visibility=Visibility.PRIVATE)
    a = StreamScope(schema=tenant.schema_name, user_id=owner.pk, project_id=mine.pk)
    b = StreamScope(schema=other_tenant.schema_name, user_id=owner.pk, project_id=mine.pk)

    async def check() -> list[bool]:
        return list(await asyncio.gather(a.still_visible_async(), b.still_visible_async(), a.still_visible_async()))

    assert async_to_sync(check)() == [True, False, True]


def test_stream_urls_check_the_project(tenant, other_tenant, in_tenant, member, owner) -> None:
    with in_tenant(tenant):
        open_project = ProjectFactory.create(visibility=Visibility.WORKSPACE)
        private = ProjectFactory.create(visibility=Visibility.PRIVATE)
    with in_tenant(other_tenant):
        theirs = ProjectFactory.create(pk=private.pk + 1000)
    client = client_for(tenant)
    client.force_login(member)
    answer: Any = client.get(reverse("live_project_stream", args=[open_project.pk]))
    assert answer.status_code == 200
    assert answer["Content-Type"] == "text/event-stream"
    assert b"".join(answer.streaming_content).startswith(b"retry: 2000")
    assert client.get(reverse("live_project_stream", args=[private.pk])).status_code == 404
    assert client.get(reverse("live_project_stream", args=[theirs.pk])).status_code == 404
    anonymous = client_for(tenant)
    assert anonymous.get(reverse("live_stream")).status_code == 403


def test_stream_opening_costs_a_fixed_number_of_queries(tenant, in_tenant, member) -> None:
    with in_tenant(tenant):
        project = ProjectFactory.create(visibility=Visibility.WORKSPACE)
        TaskFactory.create_batch(5, project=project)
    client = client_for(tenant)
    client.force_login(member)
    url = reverse("live_project_stream", args=[project.pk])
    first: Any = client.get(url)
    b"".join(first.streaming_content)
    with CaptureQueriesContext(django_connection) as queries:
        again: Any = client.get(url)
        b"".join(again.streaming_content)
    assert len(queries) <= 6


def test_the_live_consumer_announces_a_moved_task(
    tenant, in_tenant, owner, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(live_services, "publish", sent.append)
    with in_tenant(tenant):
        project = ProjectFactory.create()
        task = TaskFactory.create(project=project, status="todo")
    with in_tenant(tenant), django_capture_on_commit_callbacks(execute=True):
        services.task_move(task=task, status="doing", position=0, acting_user=owner)
    moved = [m for m in sent if m["kind"] == "events"]
    assert moved[-1]["schema"] == tenant.schema_name
    assert moved[-1]["events"][-1] == {
        "id": moved[-1]["events"][-1]["id"],
        "type": "task.moved",
        "project": project.pk,
        "task": task.pk,
        "actor": owner.pk,
        "at": moved[-1]["events"][-1]["at"],
    }


def test_an_event_handed_out_again_is_announced_once(tenant, in_tenant, owner, monkeypatch) -> None:
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(live_services, "publish", sent.append)
    with in_tenant(tenant):
        project = ProjectFactory.create()
        task = TaskFactory.create(project=project)
        services.task_move(task=task, status="done", position=0, acting_user=owner)
        events = list(Event.objects.filter(type="task.moved"))
        live_services.live_publish_for_events(events)
        live_services.live_publish_for_events(events)  # the dispatcher hands them out again
    assert len(sent) == 1
