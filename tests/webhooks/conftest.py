from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tenant_apps.audit.models import Event, EventCursor
from tenant_apps.webhooks import transport
from tenants.models import Tenant
from tests.webhooks.receiver import Receiver, start_receiver


@pytest.fixture(autouse=True)
def _no_events_left_over(request: pytest.FixtureRequest) -> None:
    """The stream's tests count what they emit. Browser tests commit through a live server into the session's
    workspaces, and the test database keeps what they committed: each test here starts from no events (emptied inside
    its own transaction, so the rows come back when it ends)."""
    if request.node.get_closest_marker("django_db") is None:
        return
    in_tenant: Any = request.getfixturevalue("in_tenant")
    for name in ("tenant", "other_tenant"):
        workspace: Tenant = request.getfixturevalue(name)
        with in_tenant(workspace):
            EventCursor.objects.all().delete()
            Event.objects.all().delete()


@pytest.fixture(autouse=True)
def _no_kept_connections() -> Iterator[None]:
    """Each test starts and ends without connections kept from another's receivers."""
    transport.connections_close()
    yield
    transport.connections_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = start_receiver()
    yield running
    running.close()
