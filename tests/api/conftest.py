"""The API's fixtures: the product's people and projects (tests/projects/conftest.py), API keys for them, and clients
that send a key (or a session) to a workspace host."""

from __future__ import annotations

import time
from typing import Any

import pytest

from shared_apps.accounts.models import ApiKeyScope, User
from shared_apps.accounts.services import api_key_create
from shared_apps.core import ratelimit
from tenants.models import Tenant
from tests.conftest import HostClient, host_of
from tests.projects.conftest import admin, make_site, people, private_site, signed_in, workspace_site

__all__ = ["admin", "make_site", "people", "private_site", "signed_in", "workspace_site"]


def key_for(tenant: Tenant, user: User, scope: str = ApiKeyScope.WRITE, name: str = "Script") -> str:
    """A new API key of `user` in `tenant` (made by the service, as the profile page makes it); its secret."""
    _key, secret = api_key_create(tenant=tenant, name=name, scope=scope, acting_user=user)
    return secret


def with_key(tenant: Tenant, secret: str, *, host: str | None = None) -> HostClient:
    """A client on `tenant`'s host (or `host`) sending `Authorization: Bearer <secret>` on every request."""
    return HostClient(host or host_of(tenant), HTTP_AUTHORIZATION=f"Bearer {secret}")


@pytest.fixture(autouse=True)
def _rate_windows_hold_still(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every request of a test counts in one rate-limit window (the middle of the current minute): a window cannot
    end halfway through a test and hand out a fresh budget."""

    middle = (time.time() // 60) * 60 + 30
    monkeypatch.setattr(ratelimit, "_clock", lambda: middle)


@pytest.fixture
def api(tenant: Tenant, owner: User) -> HostClient:
    """The owner of acme, with a read-and-write key."""
    return with_key(tenant, key_for(tenant, owner))


def error_of(response: Any) -> dict[str, Any]:
    """The one error shape, checked: JSON with error.code, error.message and error.fields."""
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "fields"}, body
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    return dict(body["error"])
