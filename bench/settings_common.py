"""What every way of the routing benchmark shares: the database, persistent connections, the view, quiet logs."""

from config.env import env
from config.settings.base import *  # noqa: F403
from config.settings.base import DATABASES, LOGGING

DEBUG = False
SECRET_KEY = "bench-secret-key-not-for-production-0123456789abcdef"  # noqa: S105
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "bench.urls"
PUBLIC_SCHEMA_URLCONF = "bench.urls"
DATABASES["default"]["CONN_MAX_AGE"] = None  # persistent: the warm process of the benchmark
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
    },
    "shared": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "shared"},
}
CELERY_TASK_ALWAYS_EAGER = True
LOGGING["root"]["level"] = "WARNING"
TENANT_ROUTING_LOCAL_TTL = env.float("TENANT_ROUTING_LOCAL_TTL", default=60.0)

# The routing middleware of each way; everything else in the stack is the same.
ROUTING_MIDDLEWARE = (
    "tenants.middleware.TenantRoutingMiddleware",
    "shared_apps.accounts.middleware.TenantMembershipMiddleware",
    "tenants.middleware.TenantStatusMiddleware",
)
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
