"""Benchmark settings for `make bench-api`: Atrium's whole stack (routing, membership, status gate, the API), its
caches as configured (the database cache without REDIS_URL, Redis with it), plus one plain JSON view on the same
selector. The plan's API rates are unlimited here: every request is still counted (the cost is measured), never
refused."""

from bench.common import api_rates_unlimited
from config.env import env
from config.settings.base import *  # noqa: F403
from config.settings.base import DATABASES, LOGGING

DEBUG = False
SECRET_KEY = "bench-secret-key-not-for-production-0123456789abcdef"  # noqa: S105
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "bench.urls_api"
DATABASES["default"]["CONN_MAX_AGE"] = None  # persistent: warm worker processes
CELERY_TASK_ALWAYS_EAGER = True
LOGGING["root"]["level"] = "WARNING"
TENANT_ROUTING_LOCAL_TTL = env.float("TENANT_ROUTING_LOCAL_TTL", default=60.0)
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

api_rates_unlimited()
