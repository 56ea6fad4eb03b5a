"""Helpers for tests that start real processes against the test database."""

from __future__ import annotations

import os
from urllib.parse import quote

from django.db import connection


def database_url_for_tests() -> str:
    """A DATABASE_URL for the database this test session uses (pytest-django's test_ database)."""
    s = connection.settings_dict
    host = s.get("HOST") or ""
    user = quote(s.get("USER") or "postgres")
    password = quote(s.get("PASSWORD") or "")
    auth = f"{user}:{password}@" if password else f"{user}@"
    if host.startswith("/"):
        return f"postgresql://{auth}/{s['NAME']}?host={quote(host)}"
    port = f":{s['PORT']}" if s.get("PORT") else ""
    return f"postgresql://{auth}{host}{port}/{s['NAME']}"


def subprocess_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings.test", "DATABASE_URL": database_url_for_tests()})
    env.update(extra)
    return env
