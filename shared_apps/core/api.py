"""What every layer answers on the API's paths: JSON in one error shape, never an HTML page.

The API's own views (tenant_apps/api) render errors through `error_response`; the middleware below them (routing, the
membership gate, the workspace-state gate) and Django's error handlers check `is_api_path` and answer the same way:

    {"error": {"code": "not_found", "message": "There is no such project in this workspace.", "fields": {}}}

`code` is stable and meant for programs; `message` is for people; `fields` maps an input field to its problems.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

API_PATH_PREFIX = "/api/"


def is_api_path(path: str) -> bool:
    return path.startswith(API_PATH_PREFIX)


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
        return error_response(status=400, code="bad_request", message="The request could not be understood.")
    return defaults.bad_request(request, exception)  # type: ignore[arg-type]


def handler403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api_path(request.path):
        return error_response(status=403, code="permission_denied", message="You may not do this.")
    return defaults.permission_denied(request, exception)  # type: ignore[arg-type]


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api_path(request.path):
        return error_response(status=404, code="not_found", message="There is nothing at this address.")
    return defaults.page_not_found(request, exception)


def handler500(request: HttpRequest) -> HttpResponse:
    if is_api_path(request.path):
        return error_response(
            status=500, code="server_error", message="Something went wrong on our side; it has been logged."
        )
    return defaults.server_error(request)
