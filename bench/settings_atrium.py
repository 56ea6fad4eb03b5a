"""Benchmark settings, way (b): Atrium's own routing, middleware and database backend, unchanged."""

from bench.settings_common import *  # noqa: F403
from config.settings.base import MIDDLEWARE

MIDDLEWARE = list(MIDDLEWARE)
