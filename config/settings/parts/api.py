"""The API: /api/v1/ on every workspace host (tenant_apps/api). JSON in and out, never HTML; errors in one shape; an
API key (`Authorization: Bearer atr_…`) or the browser's session (with CSRF); rate limits from the plan."""

from __future__ import annotations

from typing import Any

REST_FRAMEWORK: dict[str, Any] = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tenant_apps.api.authentication.ApiKeyAuthentication",
        "tenant_apps.api.authentication.MemberSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["tenant_apps.api.permissions.MemberWithScope"],
    "DEFAULT_THROTTLE_CLASSES": ["tenant_apps.api.throttling.PlanRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["tenant_apps.api.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": [
        "tenant_apps.api.filters.Filters",
        "tenant_apps.api.filters.Search",
        "tenant_apps.api.filters.Ordering",
    ],
    "DEFAULT_PAGINATION_CLASS": "tenant_apps.api.pagination.Cursor",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "tenant_apps.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "tenant_apps.api.schema.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "URL_FORMAT_OVERRIDE": None,
    "DEFAULT_METADATA_CLASS": None,  # OPTIONS answers 405: the OpenAPI document describes every endpoint
    "SEARCH_PARAM": "search",
    "ORDERING_PARAM": "ordering",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DATETIME_FORMAT": "iso-8601",
    "COERCE_DECIMAL_TO_STRING": False,
}
SPECTACULAR_SETTINGS: dict[str, Any] = {
    "TITLE": "Atrium API",
    "DESCRIPTION": (
        "The API of one Atrium workspace, served on the workspace's own host (`https://<workspace>.<domain>/api/v1/`). "
        "Authenticate with an API key made on your profile page: `Authorization: Bearer atr_…`. A key acts as you, "
        "with at most its scope (read, or read and write). Errors: "
        '`{"error": {"code": "…", "message": "…", "fields": {…}}}`. Lists are paginated with cursors (`next`, '
        "`previous`). Rate limits per key and per workspace come from the plan; every response says where you stand "
        "in `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`, and a 429 carries `Retry-After`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No deep links: Swagger UI draws each one inside its operation's expand button, a link inside a button that
    # screen readers and keyboards cannot reach (axe's nested-interactive, on every operation).
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True, "deepLinking": False, "displayOperationId": False},
    "ENUM_NAME_OVERRIDES": {
        "RoleEnum": "shared_apps.accounts.models.Role",
        "TaskStatusEnum": "tenant_apps.projects.models.TaskStatus",
        "VisibilityEnum": "tenant_apps.projects.models.Visibility",
        "DeliveryStatusEnum": "tenant_apps.webhooks.models.DeliveryStatus",
    },
}
