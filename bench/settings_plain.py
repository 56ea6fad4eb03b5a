"""Benchmark settings, way (a): plain single-schema Django.

No tenant middleware, Django's own PostgreSQL backend, and the search_path fixed at connection time to one tenant's
schema (BENCH_SCHEMA), so the view reads the same rows as the routed ways.
"""

from bench.settings_common import *  # noqa: F403
from bench.settings_common import DATABASES, ROUTING_MIDDLEWARE
from config.env import env
from config.settings.base import MIDDLEWARE

MIDDLEWARE = [m for m in MIDDLEWARE if m not in ROUTING_MIDDLEWARE]
DATABASES["default"]["ENGINE"] = "django.db.backends.postgresql"
DATABASES["default"].setdefault("OPTIONS", {})["options"] = f"-c search_path={env.str('BENCH_SCHEMA')},public"
