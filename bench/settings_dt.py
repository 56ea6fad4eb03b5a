"""Benchmark settings, way (c): django-tenants' stock TenantMainMiddleware and backend (TENANT_LIMIT_SET_CALLS on)."""

from bench.settings_common import *  # noqa: F403
from bench.settings_common import DATABASES, ROUTING_MIDDLEWARE
from config.settings.base import MIDDLEWARE

MIDDLEWARE = ["django_tenants.middleware.main.TenantMainMiddleware"] + [
    m for m in MIDDLEWARE if m not in ROUTING_MIDDLEWARE
]
DATABASES["default"]["ENGINE"] = "django_tenants.postgresql_backend"
