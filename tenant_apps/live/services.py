"""Live updates: the `live` consumer of the event stream announces each change on the live bus, and a stream's
scope decides which announcements reach one open page.

An announcement carries the workspace's schema, the event's type, its project and task ids and who acted; never the
object itself. A stream is scoped when it opens: to the workspace it was opened on, to its viewer (their bell), and
to one project the viewer may see (a board or a task page). The project's visibility is checked when the stream
opens, again when the project itself changes, and at least every `RECHECK_SECONDS`; a stream ends after
`MAX_SECONDS` (the browser reconnects, and the check runs again).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Generator, Sequence
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async
from django.db import close_old_connections
from django_tenants.utils import schema_context

from shared_apps.accounts.models import Membership, User
from shared_apps.core.asgi import request_thread_release
from shared_apps.core.live import Message, hub, publish
from tenant_apps.audit.models import Event
from tenant_apps.projects.models import Project
from tenant_apps.projects.permissions import ProjectPermission, Viewer, granted_codenames, permissions_for
from tenants.db import connection
from tenants.models import Tenant

CHUNK = 40  # events a message (a NOTIFY payload stays far below PostgreSQL's 8,000 bytes)
KEEPALIVE_SECONDS = 15.0
RECHECK_SECONDS = 60.0
MAX_SECONDS = 600.0
RETRY_MS = 2000
PROJECT_CHANGES = {"project.updated", "project.archived", "project.deleted"}


def _task_of(event: Event) -> int | None:
    data = event.data or {}
    if event.type.startswith("task."):
        return data.get("id")
    return data.get("task")


class _Announced:
    """Event ids this process has announced lately. The dispatcher hands out again the events above its horizon
    (while another transaction runs, each dispatch re-reads them): announced once, they are skipped after that."""

    def __init__(self, size: int = 20_000) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def first_time(self, event_id: str) -> bool:
        with self._lock:
            if event_id in self._ids:
                return False
            self._ids[event_id] = None
            if len(self._ids) > self._size:
                self._ids.popitem(last=False)
            return True


_announced = _Announced()


def live_publish_for_events(events: Sequence[Event]) -> None:
    """The consumer: announce the batch on the live bus (at commit), each event once per process. A page that still
    hears of one change twice (announced by two processes) fetches it twice, nothing worse."""
    items = [
        {
            "id": e.event_id,
            "type": e.type,
            "project": e.project_id,
            "task": _task_of(e),
            "actor": e.actor_id,
            "at": e.occurred_at.timestamp(),
        }
        for e in events
        if e.project_id is not None and _announced.first_time(e.event_id)
    ]
    for start in range(0, len(items), CHUNK):
        publish({"schema": connection.schema_name, "kind": "events", "events": items[start : start + CHUNK]})


def project_visible(*, schema: str, user_id: int, project_id: int) -> bool:
    """May this person (still) see this project of this workspace? Names its workspace itself, so it answers the
    same from a request, a thread or an async stream."""
    with schema_context(schema):
        tenant_id = Tenant.objects.filter(schema_name=schema).values_list("pk", flat=True).first()
        membership = (
            Membership.objects.filter(tenant_id=tenant_id, user_id=user_id, user__is_active=True)
            .select_related("user")
            .first()
        )
        project = Project.objects.filter(pk=project_id).first()
        if membership is None or project is None:
            return False
        viewer = Viewer(user=membership.user, role=membership.role)
        granted = granted_codenames(viewer, [project.pk]).get(project.pk, set())
        return ProjectPermission.VIEW in permissions_for(viewer, project, granted)


@dataclass(frozen=True)
class StreamScope:
    """What one open stream may hear: its workspace, its viewer's bell, one project (or none)."""

    schema: str
    user_id: int
    project_id: int | None = None

    @classmethod
    def for_request(cls, *, user: User, project: Project | None) -> StreamScope:
        return cls(schema=connection.schema_name, user_id=user.pk, project_id=project.pk if project else None)

    def accepts(self, message: Message) -> bool:
        if message.get("schema") != self.schema:
            return False
        if message.get("kind") == "bell":
            return self.user_id in message.get("users", ())
        if message.get("kind") == "events" and self.project_id is not None:
            return any(item.get("project") == self.project_id for item in message.get("events", ()))
        return False

    def frames(self, message: Message) -> list[tuple[str, dict[str, Any]]]:
        """What the page is told: "bell" (ask for the count again) or "change" (a task or the project changed)."""
        if message.get("kind") == "bell":
            return [("bell", {})]
        return [
            (
                "change",
                {
                    "type": item["type"],
                    "task": item.get("task"),
                    "mine": item.get("actor") == self.user_id,
                    "at": item.get("at"),
                    "id": item.get("id"),
                },
            )
            for item in message.get("events", ())
            if item.get("project") == self.project_id
        ]

    def still_visible(self) -> bool:
        if self.project_id is None:
            return True
        return project_visible(schema=self.schema, user_id=self.user_id, project_id=self.project_id)

    async def still_visible_async(self) -> bool:
        try:
            return await sync_to_async(self.still_visible)()
        finally:
            await request_thread_release()  # a long-lived stream keeps no thread and no connection between checks

    def _checked_in_thread(self) -> bool:
        try:
            return self.still_visible()
        finally:
            if not connection.in_atomic_block:  # a long-lived stream keeps no connection between checks
                close_old_connections()

    def needs_recheck(self, message: Message) -> bool:
        return any(item.get("type") in PROJECT_CHANGES for item in message.get("events", ()))


class _Reader:
    """One stream's clock: when it ends, how long to wait for the next message, when access is checked again."""

    def __init__(self, scope: StreamScope, max_seconds: float) -> None:
        self.scope = scope
        self.started = self.checked = time.monotonic()
        self.max_seconds = max_seconds

    def open(self) -> bool:
        return time.monotonic() - self.started < self.max_seconds

    def wait(self) -> float:
        """Until the next keep-alive, or the stream's end if sooner."""
        return max(0.01, min(KEEPALIVE_SECONDS, self.max_seconds - (time.monotonic() - self.started)))

    def check_due(self, message: Message) -> bool:
        """Whether to check the viewer's access before passing `message` on (the project changed, or it is time)."""
        now = time.monotonic()
        if self.scope.needs_recheck(message) or now - self.checked > RECHECK_SECONDS:
            self.checked = now
            return True
        return False

    def frames(self, message: Message) -> list[bytes]:
        return [frame(name, data) for name, data in self.scope.frames(message)]


def frame(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


OPENING = f"retry: {RETRY_MS}\n: open\n\n".encode()
PING = b": ping\n\n"
GONE = frame("gone", {})


def stream_sync(scope: StreamScope, *, max_seconds: float = MAX_SECONDS) -> Generator[bytes, None, None]:
    """The stream for a WSGI server (the development server: a thread per open stream)."""
    inbox: queue.Queue[Message] = queue.Queue(maxsize=1000)
    subscription = hub().subscribe(scope.accepts, _put_or_drop(inbox))
    reader = _Reader(scope, max_seconds)
    try:
        yield OPENING
        while reader.open():
            try:
                message = inbox.get(timeout=reader.wait())
            except queue.Empty:
                yield PING
                continue
            if reader.check_due(message) and not scope._checked_in_thread():
                yield GONE
                return
            yield from reader.frames(message)
    finally:
        subscription.close()


def _put_or_drop(inbox: queue.Queue[Message]) -> Any:
    def put(message: Message) -> None:
        # a stalled reader loses announcements, never the server's memory
        with contextlib.suppress(queue.Full):
            inbox.put_nowait(message)

    return put


async def stream_async(scope: StreamScope, *, max_seconds: float = MAX_SECONDS) -> AsyncIterator[bytes]:
    """The stream for an ASGI server (uvicorn): no thread and no database connection while it waits."""
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue[Message] = asyncio.Queue(maxsize=1000)

    def deliver(message: Message) -> None:
        loop.call_soon_threadsafe(_async_put, inbox, message)

    subscription = hub().subscribe(scope.accepts, deliver)
    reader = _Reader(scope, max_seconds)
    try:
        # The request's thread is idle from now on, and may hold a database connection (opened by a middleware after
        # the view): end both now, or they would stay, idle, for as long as the stream lasts.
        await request_thread_release()
        yield OPENING
        while reader.open():
            try:
                async with asyncio.timeout(reader.wait()):  # no task of its own, as wait_for would make
                    message = await inbox.get()
            except TimeoutError:
                yield PING
                continue
            if reader.check_due(message) and not await scope.still_visible_async():
                yield GONE
                return
            for chunk in reader.frames(message):
                yield chunk
    finally:
        subscription.close()


def _async_put(inbox: asyncio.Queue[Message], message: Message) -> None:
    if not inbox.full():
        inbox.put_nowait(message)
