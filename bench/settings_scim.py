"""Benchmark settings for `make bench-scim`: Atrium's whole stack as configured, with every plan's seats lifted (a
thousand people join one workspace) and the API's rates unlimited."""

from dataclasses import replace

from billing import plans
from config.settings.base import *  # noqa: F403
from config.settings.base import DATABASES, LOGGING

DEBUG = False
SECRET_KEY = "bench-secret-key-not-for-production-0123456789abcdef"  # noqa: S105
ALLOWED_HOSTS = ["*"]
DATABASES["default"]["CONN_MAX_AGE"] = None  # persistent: warm worker processes
CELERY_TASK_ALWAYS_EAGER = True
LOGGING["root"]["level"] = "WARNING"
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

for _code, _plan in list(plans.PLANS.items()):
    plans.PLANS[_code] = replace(_plan, limits={**_plan.limits, plans.Resource.SEATS: plans.Limit(None)})
TENANT_DEFAULT_SEAT_LIMIT = 1_000_000  # a workspace billing does not know yet
