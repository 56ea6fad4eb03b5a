"""The ASGI application (shared_apps/core/asgi.py): a request's synchronous calls share one thread, a streaming
response can let that thread go, and no request thread outlives its request."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from django.http import HttpRequest, StreamingHttpResponse

from config.asgi import application
from shared_apps.core.asgi import AtriumASGIHandler, RequestThread, request_thread_release


def _scope(path: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"localhost")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8001),
    }


async def _serve(app: Any, path: str, *, while_streaming: Any = None) -> list[dict[str, Any]]:
    """Serve one GET to its end; `while_streaming()` is awaited once the response has started."""
    sent: list[dict[str, Any]] = []
    started = asyncio.Event()
    finished = asyncio.Event()

    async def receive() -> dict[str, Any]:
        if not getattr(receive, "asked", False):
            receive.asked = True  # type: ignore[attr-defined]
            return {"type": "http.request", "body": b"", "more_body": False}
        await finished.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.start":
            started.set()
        if message["type"] == "http.response.body" and not message.get("more_body"):
            finished.set()

    serving = asyncio.ensure_future(app(_scope(path), receive, send))
    if while_streaming is not None:
        await started.wait()
        await while_streaming()
    await serving
    return sent


def _request_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("request")}


def test_a_request_thread_runs_each_call_on_one_thread_until_released() -> None:
    thread = RequestThread()
    first = {thread.submit(threading.current_thread).result() for _ in range(3)}
    assert len(first) == 1
    (old,) = first
    thread.release()
    old.join(timeout=5)
    assert not old.is_alive()
    assert thread.submit(threading.current_thread).result() is not old  # a later call starts another thread
    thread.shutdown()
    assert not _request_threads()


def test_a_released_request_thread_closes_its_database_connections_first(db: None) -> None:
    thread = RequestThread()

    def connect() -> Any:
        connection = connections["default"]
        connection.ensure_connection()
        return connection

    opened = thread.submit(connect).result()
    assert opened.connection is not None
    thread.release()
    for t in _request_threads():
        t.join(timeout=5)
    assert opened.connection is None


class _StreamingHandler(AtriumASGIHandler):
    """The handler with the middleware and view replaced by one streaming response, which records the threads its
    synchronous calls ran on."""

    def __init__(self, seen: dict[str, threading.Thread], opened: asyncio.Event, go_on: asyncio.Event) -> None:
        super().__init__()
        self.seen, self.opened, self.go_on = seen, opened, go_on

    async def get_response_async(self, request: HttpRequest) -> StreamingHttpResponse:
        self.seen["view"] = await sync_to_async(threading.current_thread)()

        async def body() -> AsyncIterator[bytes]:
            self.seen["stream"] = await sync_to_async(threading.current_thread)()
            await request_thread_release()
            yield b"open\n"
            self.opened.set()
            await self.go_on.wait()
            self.seen["check"] = await sync_to_async(threading.current_thread)()
            await request_thread_release()
            yield b"end\n"

        return StreamingHttpResponse(body())


def test_a_stream_holds_no_thread_once_it_has_let_its_request_go() -> None:
    seen: dict[str, threading.Thread] = {}

    async def run() -> tuple[list[dict[str, Any]], set[threading.Thread]]:
        opened, go_on = asyncio.Event(), asyncio.Event()
        during: set[threading.Thread] = set()

        async def while_streaming() -> None:
            await opened.wait()
            await asyncio.sleep(0.2)  # the released thread has ended
            during.update(t for t in _request_threads() if t.is_alive())
            go_on.set()

        sent = await _serve(_StreamingHandler(seen, opened, go_on), "/stream", while_streaming=while_streaming)
        return sent, during

    sent, during = asyncio.run(run())
    assert b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body") == b"open\nend\n"
    assert seen["view"] is seen["stream"]  # the request's synchronous calls on one thread, as Django expects
    assert during == set()  # while the stream waits, no thread is kept for it
    assert seen["check"] is not seen["view"]  # a later call had a fresh thread…
    for t in _request_threads():
        t.join(timeout=5)
    assert not _request_threads()  # …which ended with the response


@pytest.mark.parametrize("path", ["/healthz"])
def test_the_served_application_answers_through_the_handler(path: str) -> None:
    assert isinstance(application, AtriumASGIHandler)
    sent = asyncio.run(_serve(application, path))
    assert sent[0]["status"] == 200
    for t in _request_threads():
        t.join(timeout=5)
    assert not _request_threads()
