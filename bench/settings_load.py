"""Settings for `make bench-load`: Atrium's whole stack as deployed (routing, sessions, CSRF, membership, status gate,
allauth, the API, Celery over Redis, files on the filesystem), plus one thing only the benchmark has: every response
says which schema served it (`X-Atrium-Schema`, bench/middleware.py), so the load script can check it against the host
it asked. Passwords are hashed with fewer PBKDF2 rounds (bench/hashers.py). The plan's API rates and allauth's per-IP
sign-in limit are lifted (every simulated person comes from 127.0.0.1); everything is still counted."""

from bench.common import api_rates_unlimited
from config.env import env
from config.settings.base import *  # noqa: F403
from config.settings.base import ACCOUNT_RATE_LIMITS, DATABASES, LOGGING, MIDDLEWARE

DEBUG = False
SECRET_KEY = "bench-secret-key-not-for-production-0123456789abcdef"  # noqa: S105
ALLOWED_HOSTS = ["*"]
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
LOGGING["root"]["level"] = "WARNING"
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
WHITENOISE_USE_FINDERS = True
CELERY_TASK_ALWAYS_EAGER = False
# One marker per response, set while the connection still points at the request's schema (inside routing).
MIDDLEWARE = [
    *MIDDLEWARE[: MIDDLEWARE.index("tenants.middleware.TenantRoutingMiddleware") + 1],
    "bench.middleware.SchemaMarkerMiddleware",
    *MIDDLEWARE[MIDDLEWARE.index("tenants.middleware.TenantRoutingMiddleware") + 1 :],
]
PASSWORD_HASHERS = ["bench.hashers.LoadBenchPBKDF2PasswordHasher"]
ACCOUNT_RATE_LIMITS = {**ACCOUNT_RATE_LIMITS, "login": "100000/m/ip", "login_failed": "100000/m/ip,1000/5m/key"}
api_rates_unlimited()
