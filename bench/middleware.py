"""The load benchmark's marker (bench/settings_load.py only, never in Atrium's own settings): `X-Atrium-Schema` names
the schema the database connection pointed at when the response left the view, which the load script compares with
the schema of the host it asked; `X-Bench-Host` repeats the host asked (bench/pooler.py checks each answer's markers
against it)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from tenants.db import connection


class SchemaMarkerMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response["X-Atrium-Schema"] = str(getattr(connection, "schema_name", ""))
        response["X-Bench-Host"] = request.META.get("HTTP_HOST", "")  # the host asked, for bench/pooler.py's check
        return response
