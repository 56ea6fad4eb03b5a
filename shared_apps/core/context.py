"""What the code running now is doing it for: the request (or task) context, read by audit entries and log lines.

Services never take `request` to learn the client's address: the middleware below puts the request id, client IP
and user agent of the current request into a context variable, and Celery carries them into the tasks the request
enqueues (`shared_apps.core.tasks`). Anything that records "who, from where" reads `current()`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, replace
from typing import Any

from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import HttpRequest, HttpResponse

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
USER_AGENT_MAX = 512


@dataclass(frozen=True, slots=True)
class RequestContext:
    request_id: str = ""
    ip: str | None = None
    user_agent: str = ""
    # Set while a platform operator is signed in as a member (impersonation): who really acts. Audit entries written
    # meanwhile name both ("ops@… as member@…").
    impersonator: str = ""
    # Set once the request is authenticated by an API key: what is done from then on is done through that key, and
    # audit entries say which (its id and visible prefix; never the secret).
    api_key_id: int | None = None
    api_key_prefix: str = ""

    def as_headers(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_headers(cls, data: object) -> RequestContext:
        if not isinstance(data, dict):
            return cls()
        ip = data.get("ip")
        key_id = data.get("api_key_id")
        return cls(
            request_id=str(data.get("request_id") or "")[:64],
            ip=str(ip) if ip else None,
            user_agent=str(data.get("user_agent") or "")[:USER_AGENT_MAX],
            impersonator=str(data.get("impersonator") or "")[:254],
            api_key_id=key_id if isinstance(key_id, int) and not isinstance(key_id, bool) else None,
            api_key_prefix=str(data.get("api_key_prefix") or "")[:32],
        )


_EMPTY = RequestContext()
_current: ContextVar[RequestContext] = ContextVar("atrium_request_context", default=_EMPTY)
# The request itself, for log lines that want the signed-in user's id without causing a query.
current_request: ContextVar[HttpRequest | None] = ContextVar("current_request", default=None)


def current() -> RequestContext:
    """The context of the request or task running now (empty outside both: commands, shells)."""
    return _current.get()


@contextmanager
def bound(context: RequestContext) -> Iterator[RequestContext]:
    """Run a block under `context` (tasks, tests)."""
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


def acting_through_api_key(*, key_id: int, prefix: str) -> RequestContext:
    """Mark the rest of the current request (or block bound with `bound`) as done through API key `key_id`: every
    audit entry written from here names the key. The request's middleware restores the context it set when the
    request ends, so the mark never outlives the request."""
    context = replace(_current.get(), api_key_id=key_id, api_key_prefix=prefix)
    _current.set(context)
    return context


def client_ip(request: HttpRequest) -> str | None:
    """The client's address as allauth resolves it (its rate limits and the sessions list use the same): REMOTE_ADDR,
    or the trusted proxy header / X-Forwarded-For position when the deployment configures one."""
    from allauth.account.adapter import get_adapter  # noqa: PLC0415  (imports models: this module loads with the settings)

    try:
        return get_adapter(request).get_client_ip(request) or None
    except (ImproperlyConfigured, PermissionDenied):  # a proxy count that does not match must not cost the entry
        return request.META.get("REMOTE_ADDR") or None


def request_id_of(request: HttpRequest) -> str:
    incoming = request.META.get("HTTP_X_REQUEST_ID", "")
    return incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex


class RequestContextMiddleware:
    """Takes the proxy's X-Request-ID (or makes one), records the client's IP and user agent for the request's
    audit entries and log lines, and echoes the request id on the response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        context = RequestContext(
            request_id=request_id_of(request),
            ip=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX],
        )
        token = _current.set(context)
        request_token = current_request.set(request)
        try:
            response = self.get_response(request)
        finally:
            current_request.reset(request_token)
            _current.reset(token)
        response["X-Request-ID"] = context.request_id
        return response
