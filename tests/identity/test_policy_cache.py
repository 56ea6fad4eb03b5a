"""The sign-in policy as requests read it is cached per process; a change made in another process reaches this one at
its next read of the route feed (tenants.routing), as a route change does.

"Another process" is played by doing what it would: writing the row (this process's cache knows nothing of it) and
announcing the change on the feed exactly as `policy_forget` does once its transaction commits.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from shared_apps.accounts.models import Role, User
from shared_apps.identity import selectors
from shared_apps.identity.models import WorkspacePolicy
from shared_apps.identity.services.policies import policy_update
from tenants import routing
from tenants.models import Tenant

pytestmark = pytest.mark.django_db(transaction=False)


def read_feed() -> None:
    routing.feed.next_poll = 0.0
    routing.poll()


def follow() -> None:
    routing.announce(["nobody.invalid"])
    read_feed()
    assert routing.feed.followed


def another_process_requires_two_factor(tenant: Tenant) -> None:
    WorkspacePolicy.objects.update_or_create(tenant=tenant, defaults={"require_two_factor": True})
    routing.announce([f"identity-policy:{tenant.pk}"])


def test_a_policy_changed_elsewhere_is_read_again_after_the_next_read_of_the_feed(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    follow()
    assert selectors.policy_snapshot(tenant_id=tenant.pk) is None
    assert selectors.policy_snapshot(tenant_id=other_tenant.pk) is None

    another_process_requires_two_factor(tenant)

    assert selectors.policy_snapshot(tenant_id=tenant.pk) is None  # cached, the feed not read yet
    read_feed()
    snapshot = selectors.policy_snapshot(tenant_id=tenant.pk)
    assert snapshot is not None
    assert snapshot.require_two_factor
    assert selectors._snapshots[other_tenant.pk][1] is None  # the other workspace's entry was kept


def test_while_the_feed_is_followed_a_policy_outlives_the_short_ttl(tenant: Tenant) -> None:
    follow()
    selectors.policy_snapshot(tenant_id=tenant.pk)
    expires, _ = selectors._snapshots[tenant.pk]

    assert expires - time.monotonic() > selectors.POLICY_TTL_S


def test_a_process_that_lost_the_feed_forgets_every_policy(tenant: Tenant, other_tenant: Tenant) -> None:
    follow()
    selectors.policy_snapshot(tenant_id=tenant.pk)
    selectors.workspace_has_sso(tenant_id=other_tenant.pk)

    routing.feed.next_number = (routing.feed.next_number or 0) + 10_000  # far off: the feed cannot be followed
    read_feed()

    assert selectors._snapshots == {}
    assert selectors._has_sso == {}


def test_a_committed_change_is_announced_on_the_feed(
    tenant: Tenant, owner: User, django_capture_on_commit_callbacks: Any
) -> None:
    follow()
    before = routing.feed.next_number
    with django_capture_on_commit_callbacks(execute=True):
        policy_update(
            tenant=tenant,
            acting_user=owner,
            require_sso=False,
            require_two_factor=True,
            session_lifetime_minutes=None,
            jit_role=Role.MEMBER,
        )
    selectors._snapshots[tenant.pk] = (float("inf"), None)  # as if another process had cached the old policy
    read_feed()

    assert routing.feed.next_number == (before or 0) + 1
    assert tenant.pk not in selectors._snapshots
