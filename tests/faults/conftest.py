"""Fixtures of the fault tests: a redis-server of the test's own, used as the cache and the Celery broker."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from config.celery import app as celery_app
from shared_apps.core import cache as resilient
from tenants import routing
from tests.faults.servers import free_port, redis_server


def _redis_settings(settings: Any, url: str) -> None:
    """The caches as production configures them with REDIS_URL (config/settings/parts/caches.py)."""
    backend = {
        "BACKEND": "shared_apps.core.cache.ResilientRedisCache",
        "LOCATION": url,
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2},
    }
    settings.CACHES = {
        "default": {
            **backend,
            "KEY_FUNCTION": "tenants.cache.make_key",
            "REVERSE_KEY_FUNCTION": "tenants.cache.reverse_key",
        },
        "shared": {**backend, "KEY_PREFIX": "shared"},
    }


@pytest.fixture
def redis_up(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, int]]:
    monkeypatch.setattr(resilient, "outage", resilient.Outage())  # this test's own record of the outage
    with redis_server(free_port()) as (process, port):
        _redis_settings(settings, f"redis://127.0.0.1:{port}/0")
        routing.clear()
        yield process, port
    routing.clear()


@pytest.fixture
def broker(redis_up: tuple[Any, int], monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Celery publishes to the test's Redis instead of running tasks in-process."""
    url = f"redis://127.0.0.1:{redis_up[1]}/0"
    monkeypatch.setitem(celery_app.conf, "task_always_eager", False)
    monkeypatch.setitem(celery_app.conf, "broker_url", url)
    celery_app._pool = None  # connections are made again, to this broker
    celery_app.amqp._producer_pool = None
    yield url
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
