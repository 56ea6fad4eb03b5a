"""Sentry: enabled only when SENTRY_DSN is set, with the Django, Celery and Redis integrations.

Every event is tagged with the tenant it happened in (`tenant`: the schema, `tenant_slug`: the subdomain when the
request came through one), the request id (`request_id`, the one echoed in `X-Request-ID` and written in the JSON
log lines) and the signed-in user's id (`user_id`, a number, never an email). A Celery task's events carry the tenant
of the task: tenant-schemas-celery runs it in that schema, and the tags are read when the event is sent.

No PII: `send_default_pii=False`, and `scrub` removes what the integrations could still attach: cookies, the
Authorization / Cookie / API-key / forwarding headers, client IP addresses, query strings and request bodies, user
fields other than the id, and every email address in messages, exception values, breadcrumbs and extra data.
"""

from __future__ import annotations

import re
from typing import Any

import sentry_sdk
from django.conf import settings
from django.db import connection
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.integrations.redis import RedisIntegration

from shared_apps.core import context
from shared_apps.core.logging import _user_id

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
IPV4 = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")
REDACTED = "[redacted]"
_SENSITIVE_HEADERS = {
    "authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "x-csrftoken",
    "proxy-authorization",
    "x-forwarded-for",
    "x-real-ip",
    "forwarded",
    "cf-connecting-ip",
    "true-client-ip",
}


def _scrub_text(value: str) -> str:
    return IPV4.sub(REDACTED, EMAIL.sub(REDACTED, value))


def _scrub_deep(value: Any, depth: int = 0) -> Any:
    if depth > 12:
        return value
    if isinstance(value, str):
        return _scrub_text(value)
    if isinstance(value, dict):
        return {k: _scrub_deep(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub_deep(v, depth + 1) for v in value]
    return value


def _scrub_request(request: dict[str, Any]) -> None:
    request.pop("cookies", None)
    request.pop("data", None)  # bodies can hold anything a user typed
    request.pop("query_string", None)
    headers = request.get("headers")
    if isinstance(headers, dict):
        request["headers"] = {k: v for k, v in headers.items() if k.lower() not in _SENSITIVE_HEADERS}
    env = request.get("env")
    if isinstance(env, dict):
        request["env"] = {k: v for k, v in env.items() if k not in ("REMOTE_ADDR", "SERVER_NAME")}


def current_tags() -> dict[str, str]:
    """The tenant, request id and user id of what runs now (request or task); nothing that needs a query."""

    tags: dict[str, str] = {}
    schema = getattr(connection, "schema_name", None)
    if schema:
        tags["tenant"] = str(schema)
    request = context.current_request.get()
    if request is not None:
        host = str(getattr(getattr(request, "route", None), "primary_host", "") or "")
        base = "." + str(settings.BASE_DOMAIN)
        if host.endswith(base) and schema:
            tags["tenant_slug"] = host[: -len(base)]
        user_id = _user_id(request)
        if user_id is not None:
            tags["user_id"] = str(user_id)
    request_id = context.current().request_id
    if request_id:
        tags["request_id"] = request_id
    return tags


def scrub(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """`before_send` (and `before_send_transaction`): tag the event, then strip PII."""
    event.setdefault("tags", {}).update(current_tags())
    user = event.get("user")
    if isinstance(user, dict):
        kept = {"id": user["id"]} if user.get("id") is not None else {}
        if kept:
            event["user"] = kept
        else:
            event.pop("user", None)
    if isinstance(event.get("request"), dict):
        _scrub_request(event["request"])
    for key in ("message", "logentry", "exception", "breadcrumbs", "extra", "contexts"):
        if key in event:
            event[key] = _scrub_deep(event[key])
    event.pop("server_name", None)
    return event


def _scrub_breadcrumb(crumb: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    return dict(_scrub_deep(crumb))


def init_sentry(dsn: str, *, environment: str, release: str | None = None, transport: Any = None) -> None:

    options: dict[str, Any] = {}
    if transport is not None:  # tests: a local transport that keeps the envelopes
        options["transport"] = transport
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        integrations=[DjangoIntegration(), CeleryIntegration(), RedisIntegration()],
        send_default_pii=False,
        max_request_body_size="never",
        traces_sample_rate=0.0,
        before_send=scrub,  # type: ignore[arg-type]
        before_breadcrumb=_scrub_breadcrumb,
        **options,
    )
