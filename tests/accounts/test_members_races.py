"""The last-owner rule under real concurrency: two owners demoting (or removing) each other at the same moment, each
on its own database connection and committing for real. One wins; the other is refused; one owner remains.

The rows are committed outside the test's transaction, so the fixture removes them afterwards with raw SQL (the
audit log's append-only guard is the application's; test cleanup works beneath it)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django_tenants.utils import tenant_context

from shared_apps.accounts import services
from shared_apps.accounts.errors import LastOwner
from shared_apps.accounts.models import Membership, Role, User
from shared_apps.accounts.services import members as members_services
from shared_apps.core.errors import ApplicationError
from tenants.models import Tenant
from tests.helpers import committed_sql as _sql
from tests.helpers import in_own_connection, run_concurrently

EMAILS = ("race-a@race.test", "race-b@race.test")


@pytest.fixture
def two_owners(_session_tenants: dict[str, Tenant], django_db_blocker: Any) -> Iterator[tuple[Tenant, int, int]]:
    acme = _session_tenants["acme"]

    def make() -> tuple[int, int]:
        ids = []
        for email in EMAILS:
            user = User.objects.create_user(email=email, password=None)
            ids.append(Membership.objects.create(user=user, tenant_id=acme.pk, role=Role.OWNER).pk)
        return ids[0], ids[1]

    with django_db_blocker.unblock():
        a, b = in_own_connection(make)
    yield acme, a, b
    _sql(f'DELETE FROM "{acme.schema_name}".audit_auditentry WHERE actor_label = ANY(%s)', [list(EMAILS)])  # noqa: S608
    _sql("DELETE FROM accounts_membership WHERE user_id IN (SELECT id FROM accounts_user WHERE email = ANY(%s))",
         [list(EMAILS)])  # fmt: skip
    _sql("DELETE FROM accounts_user WHERE email = ANY(%s)", [list(EMAILS)])


def race(monkeypatch: pytest.MonkeyPatch, *calls: Callable[[], Any]) -> list[Any]:
    """Run the calls at once; each reaches the locking read only when all of them are about to."""
    barrier = threading.Barrier(len(calls), timeout=20)
    real = members_services._lock_members

    def lock_at_the_barrier(**kwargs: Any) -> Any:
        barrier.wait()
        return real(**kwargs)

    monkeypatch.setattr(members_services, "_lock_members", lock_at_the_barrier)
    return run_concurrently(calls)


def _owners(tenant: Tenant) -> list[str]:
    rows = _sql(
        "SELECT u.email FROM accounts_membership m JOIN accounts_user u ON u.id = m.user_id"
        " WHERE m.tenant_id = %s AND m.role = 'owner' ORDER BY u.email",
        [tenant.pk],
    )
    return [r[0] for r in rows]


def _as(tenant: Tenant, acting_id: int, target_id: int, how: str) -> Callable[[], Any]:
    def call() -> Any:
        with tenant_context(tenant):
            actor = Membership.objects.select_related("user").get(pk=acting_id).user
            target = Membership.objects.get(pk=target_id)
            if how == "leave":
                return services.member_leave(tenant=tenant, user=actor)
            if how in ("step down", "demote each other"):
                return services.member_role_change(tenant=tenant, membership=target, role=Role.ADMIN, acting_user=actor)
            return services.member_remove(tenant=tenant, membership=target, acting_user=actor)

    return call


@pytest.mark.parametrize("how", ["leave", "step down"])
def test_two_owners_leaving_or_stepping_down_at_once_leave_one_owner(
    two_owners: tuple[Tenant, int, int], db: None, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """Both pass the role check; only the last-owner rule, read under the owners' row locks, stops the second."""
    tenant, a, b = two_owners

    results = race(monkeypatch, _as(tenant, a, a, how), _as(tenant, b, b, how))

    assert len([r for r in results if isinstance(r, LastOwner)]) == 1, results
    assert len([r for r in results if not isinstance(r, Exception)]) == 1, results
    assert len(_owners(tenant)) == 1


@pytest.mark.parametrize("how", ["demote each other", "remove each other"])
def test_two_owners_acting_on_each_other_at_once_leave_one_owner(
    two_owners: tuple[Tenant, int, int], db: None, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """The second sees, under the lock, that the first already changed it: refused (no longer an owner, or no
    longer a member), never a workspace without owners."""
    tenant, a, b = two_owners

    results = race(monkeypatch, _as(tenant, a, b, how), _as(tenant, b, a, how))

    assert len([r for r in results if isinstance(r, ApplicationError)]) == 1, results
    assert len(_owners(tenant)) == 1
