"""The OpenAPI document (drf-spectacular): the bearer-key and session security schemes, the one error shape on every
operation's error statuses, and the rate-limit headers on its successes (and redirects: a download)."""

from __future__ import annotations

from typing import Any, Literal

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import build_basic_type
from drf_spectacular.types import OpenApiTypes

from tenant_apps.api.serializers import Error

_ERRORS_EVERYWHERE = {
    "401": "No valid API key or session: the key is missing, wrong, expired or revoked.",
    "403": "Not allowed: your role, your access to the project, or a read-only key; or the workspace is suspended.",
    "404": "No such object in this workspace, or one you may not see.",
    "429": "Over the plan's rate limit for this key or this workspace: wait `Retry-After` seconds.",
}
_ERRORS_OF_WRITES = {
    "400": "The input is not valid: `fields` says which and why.",
    "402": "The workspace is read-only until an overdue payment is made.",
    "409": "The change conflicts with the workspace's state (a plan limit, the last owner, already done).",
}
_ERRORS_OF_READS = {"400": "A filter, ordering or page size that is not valid."}

_RATE_HEADERS = {
    "RateLimit-Limit": "Requests allowed in the current one-minute window (the tighter of key and workspace).",
    "RateLimit-Remaining": "Requests left in the window.",
    "RateLimit-Reset": "Seconds until the window ends.",
    "RateLimit-Policy": "The limit and its window, e.g. `300;w=60`.",
}


class AutoSchema(SpectacularAutoSchema):
    def _get_response_bodies(self, direction: Literal["request", "response"] = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        errors = dict(_ERRORS_EVERYWHERE)
        errors.update(_ERRORS_OF_WRITES if self.method in {"POST", "PUT", "PATCH", "DELETE"} else _ERRORS_OF_READS)
        for code, description in sorted(errors.items()):
            if code not in responses:
                body = self._get_response_for_code(Error, code, direction=direction)
                body["description"] = description
                responses[code] = body
        return responses

    def _get_response_headers_for_code(self, status_code: str, direction: str = "response") -> dict[str, Any]:
        headers: dict[str, Any] = super()._get_response_headers_for_code(status_code, direction)
        if status_code.startswith(("2", "3")) or status_code == "429":
            for name, description in _RATE_HEADERS.items():
                schema = build_basic_type(OpenApiTypes.STR if name == "RateLimit-Policy" else OpenApiTypes.INT)
                headers[name] = {"schema": schema, "description": description}
        if status_code == "429":
            headers["Retry-After"] = {
                "schema": build_basic_type(OpenApiTypes.INT),
                "description": "Seconds to wait before trying again.",
            }
        return headers


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "tenant_apps.api.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "Atrium API key (atr_…)",
            "description": "An API key made on your profile page in the workspace: `Authorization: Bearer atr_…`. "
            "It works on this workspace's host only, as you, with at most its scope (read, or read and write).",
        }


class MemberSessionScheme(OpenApiAuthenticationExtension):
    target_class = "tenant_apps.api.authentication.MemberSessionAuthentication"
    name = "session"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:

        return {
            "type": "apiKey",
            "in": "cookie",
            "name": settings.SESSION_COOKIE_NAME,
            "description": "The browser's session on this workspace's host; unsafe methods need the CSRF token "
            "(`X-CSRFToken` header).",
        }
