"""What every layer answers on the API's paths: JSON in one error shape, never an HTML page.

The API's own views (tenant_apps/api) render errors through `error_response`; the middleware below them (routing, the
membership gate, the workspace-state gate) and Django's error handlers check `is_api_path` and answer the same way:

    {"error": {"code": "not_found", "message": "There is no such project in this workspace.", "fields": {}}}

`code` is stable and meant for programs; `message` is for people; `fields` maps an input field to its problems.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from django.db import DatabaseError, InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.utils.translation import gettext as _
from django.views import defaults

logger = logging.getLogger(__name__)

# Seconds a client is told to wait when the database cannot be reached (a restart or a failover takes about that).
UNAVAILABLE_RETRY_AFTER = 5

API_PATH_PREFIX = "/api/"
# SCIM (/scim/v2/) is a machine's address too: answered in JSON, never with a page.
MACHINE_PATH_PREFIXES = (API_PATH_PREFIX, "/scim/")


def is_api_path(path: str) -> bool:
    return path.startswith(MACHINE_PATH_PREFIXES)


def error_body(code: str, message: str, fields: Mapping[str, Sequence[str]] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": {k: list(v) for k, v in (fields or {}).items()}}}


def error_response(
    *,
    status: int,
    code: str,
    message: str,
    fields: Mapping[str, Sequence[str]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JsonResponse:
    response = JsonResponse(error_body(code, message, fields), status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


# --- Django's error handlers: JSON on the API's paths, the site's pages elsewhere (both URLconfs name these) --------


def handler400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api_path(request.path):
        return error_response(status=400, code="bad_request", message=_("The request could not be understood."))
    return defaults.bad_request(request, exception)  # type: ignore[arg-type]


def handler403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api_path(request.path):
        return error_response(status=403, code="permission_denied", message=_("You may not do this."))
    return defaults.permission_denied(request, exception)  # type: ignore[arg-type]


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api_path(request.path):
        return error_response(status=404, code="not_found", message=_("There is nothing at this address."))
    return defaults.page_not_found(request, exception)


def database_unreachable(exc: BaseException | None) -> bool:
    """The error says the database cannot be reached or the connection was lost (a restart, a failover, too many
    connections): a moment's unavailability, not a bug."""
    if isinstance(exc, (OperationalError, InterfaceError)):
        return True
    return isinstance(exc, DatabaseError) and out_of_step(exc)


def out_of_step(exc: BaseException) -> bool:
    """psycopg's own InternalError (no SQLSTATE: the server sent none) says the connection's protocol went out of
    step: behind a pooler, its error arrived in place of a command's answer as the server went away ("received 2
    results from command 'BEGIN'"). Not a bug of ours, and the connection cannot be trusted with another statement."""
    cause = exc.__cause__
    return isinstance(cause, psycopg.InternalError) and cause.sqlstate is None


def unavailable_response(request: HttpRequest) -> HttpResponse:
    """503 with Retry-After: the branded page (self-contained: it reads nothing from the database), or JSON on the
    API's paths."""
    headers = {"Retry-After": str(UNAVAILABLE_RETRY_AFTER)}
    if is_api_path(request.path):
        return error_response(
            status=503,
            code="unavailable",
            message=_("The service is briefly unavailable; try again in a few seconds."),
            headers=headers,
        )
    response = HttpResponse(loader.get_template("503.html").render(), status=503, headers=headers)
    response["Cache-Control"] = "no-store"
    return response


def handler500(request: HttpRequest) -> HttpResponse:
    """Django calls this inside the `except` that caught the error, from any view or middleware. A lost database is
    answered with a 503 at once (the request fails fast; the next one reconnects, CONN_HEALTH_CHECKS), anything else
    is a bug and gets the 500."""
    exc = sys.exc_info()[1]
    if database_unreachable(exc):
        logger.warning("database unreachable: answered 503", extra={"path": request.path[:200]})
        if exc is not None and out_of_step(exc):
            for wrapper in connections.all(initialized_only=True):
                wrapper.close()  # the next statement gets a new connection, never this one's stray answer
        return unavailable_response(request)
    if is_api_path(request.path):
        return error_response(
            status=500, code="server_error", message=_("Something went wrong on our side; it has been logged.")
        )
    return defaults.server_error(request)
