"""The ASGI application (config/asgi.py, what uvicorn serves): Django's handler, with each request's thread released
while a long response streams.

Under ASGI, Django runs a request's synchronous code (the middleware, the view, the ORM) on a thread of its own,
started by the request's first synchronous call and kept until the response has been sent. For a page that is a few
milliseconds; for a live stream (tenant_apps/live) it is minutes of an idle thread (its stack, its database
connection objects) for every open stream. Here the request's thread is a `RequestThread`: the
same one thread for all of the request's synchronous calls, as Django expects, until a streaming response lets it go
with `request_thread_release()` (its database connections closed on the way out). A synchronous call after that (an
access re-check, the response's close) starts a fresh thread, which the stream may let go again.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any

import django
from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.db import connections


def _connections_close() -> None:
    """Close this thread's database connections, except one inside a transaction (never cut one short)."""
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close()


class RequestThread(Executor):
    """One request's thread for its synchronous code: one call at a time on one thread, started by the first call;
    `release()` ends it (after closing its database connections) and the next call, if any, starts another."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="request")
            return self._pool.submit(fn, *args, **kwargs)

    def release(self, *, wait: bool = False) -> None:
        """End the thread once it has closed its database connections (call it while none of the request's calls
        runs); with `wait`, return once it has ended."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.submit(_connections_close)
            pool.shutdown(wait=wait)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.release(wait=wait)


_request_thread: contextvars.ContextVar[RequestThread] = contextvars.ContextVar("request_thread")


async def request_thread_release() -> None:
    """For a response that outlives its request (a stream, between its access checks): give the request's database
    connections back and end its thread. Outside `AtriumASGIHandler` (Django's test clients), only the connections
    are given back."""
    thread = _request_thread.get(None)
    if thread is None:
        await sync_to_async(_connections_close)()
    else:
        thread.release()


class AtriumASGIHandler(ASGIHandler):
    """Django's ASGI handler, its requests' threads `RequestThread`s."""

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        thread = RequestThread()
        token = _request_thread.set(thread)
        try:
            async with ThreadSensitiveContext(executor=thread):
                await self.handle(scope, receive, send)
        finally:
            _request_thread.reset(token)
            thread.shutdown(wait=False)


def get_asgi_application() -> AtriumASGIHandler:
    """As django.core.asgi.get_asgi_application, with `AtriumASGIHandler`."""
    django.setup(set_prefix=False)
    return AtriumASGIHandler()
