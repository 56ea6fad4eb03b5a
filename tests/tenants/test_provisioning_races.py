"""Races between real concurrent connections during provisioning: two signups for one subdomain get one winner, a
clear error for the other, and no orphan schema; a spare is never handed to two signups.

Each signup runs in its own thread with its own database connection and commits for real, so these tests cannot
use the test's rolled-back transaction: `committed` records what existed before and removes everything the threads
committed once the test (and its transaction) is over.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from shared_apps.accounts.models import User
from shared_apps.workspaces import services
from tenants import provisioning
from tenants.errors import SubdomainTaken
from tenants.models import Tenant, TenantStatus
from tenants.provisioning import Method
from tests.helpers import committed_sql as _sql
from tests.helpers import in_own_connection, run_concurrently

OWNER = "racer@race.test"


def _schemas() -> set[str]:
    return {r[0] for r in _sql("SELECT nspname FROM pg_namespace WHERE nspname LIKE 't\\_%'")}


@dataclass
class Committed:
    schemas_before: set[str]
    max_ids: dict[str, int] = field(default_factory=dict)

    def new_schemas(self) -> set[str]:
        return _schemas() - self.schemas_before


_TABLES = ("accounts_membership", "tenants_domain", "tenants_tenant")


@pytest.fixture
def committed(_session_tenants: dict[str, Tenant], django_db_blocker: Any) -> Iterator[Committed]:
    """Before: an owner account (committed) and the high-water marks. After the test's transaction is gone: drop the
    schemas and delete the rows the threads committed."""
    with django_db_blocker.unblock():
        in_own_connection(lambda: User.objects.get_or_create(email=OWNER))
    state = Committed(schemas_before=_schemas())
    for table in _TABLES:
        state.max_ids[table] = _sql(f"SELECT coalesce(max(id), 0) FROM {table}")[0][0]  # noqa: S608
    # Spares committed earlier in the session (a subprocess's signup refills the pool) are set aside: the threads
    # must only ever see the spares a test makes.
    set_aside = [
        r[0] for r in _sql("UPDATE tenants_tenant SET status = 'suspended' WHERE status = 'spare' RETURNING id")
    ]
    yield state
    _sql("UPDATE tenants_tenant SET status = 'spare' WHERE id = ANY(%s)", [set_aside])
    for schema in _schemas() - state.schemas_before:
        _sql(f'DROP SCHEMA "{schema}" CASCADE')
    for table in _TABLES:
        _sql(f"DELETE FROM {table} WHERE id > %s", [state.max_ids[table]])  # noqa: S608
    _sql("DELETE FROM accounts_user WHERE email = %s", [OWNER])  # raw: the ORM's cascade would look for tenant tables


def race(*calls: Callable[[], Any], wait: str = "", monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Run the calls in threads at once. `wait="before"`: every signup has passed the "is the subdomain free?" check
    before any provisions; `wait="after"`: every signup holds its schema (a claimed spare) before any inserts its
    domain, so the unique index really is what decides. Otherwise they just start together."""
    barrier = threading.Barrier(len(calls), timeout=20)
    if wait:
        real = provisioning.provision

        def provision_at_the_barrier(**kwargs: Any) -> Any:
            if wait == "before":
                barrier.wait()
            result = real(**kwargs)
            if wait == "after":
                barrier.wait()
            return result

        monkeypatch.setattr("tenants.services.provisioning.provision", provision_at_the_barrier)
    # What signup queues after commit stays out of the threads: Celery's eager mode keeps its "inside a task" flag
    # in a process-wide global, which two eager tasks in two threads at once can leave set for good.
    monkeypatch.setattr("shared_apps.workspaces.services.creation.enqueue_on_commit", lambda task, **kwargs: None)
    return run_concurrently(calls, before_each=None if wait else barrier.wait)


def create(slug: str, method: Method = Method.AUTO) -> Callable[[], Any]:
    return lambda: services.workspace_create(slug=slug, name=slug.title(), owner_email=OWNER, method=method)


@pytest.fixture
def no_pool(settings: Any) -> None:
    settings.TENANT_POOL_SIZE = 0  # no claim, and no refill committed behind the test's back


@pytest.mark.usefixtures("no_pool")
def test_two_signups_for_one_subdomain_one_wins_no_orphan_schema(
    committed: Committed, db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Fast-path creations queue on the locks their foreign keys take on public tables, so the second one provisions
    # once the first has committed, then loses on the domain's unique index.
    results = race(create("contested"), create("contested"), wait="before", monkeypatch=monkeypatch)

    winners = [r for r in results if isinstance(r, tuple)]
    losers = [r for r in results if isinstance(r, Exception)]
    assert len(winners) == 1, results
    assert len(losers) == 1
    assert isinstance(losers[0], SubdomainTaken)
    assert losers[0].message == "The subdomain “contested” is taken."
    winner, _owner = winners[0]
    assert committed.new_schemas() == {winner.schema_name}  # the loser's schema went with its transaction
    assert _sql("SELECT t.schema_name FROM tenants_domain d JOIN tenants_tenant t ON t.id = d.tenant_id"
                " WHERE d.domain = 'contested.localhost'") == [(winner.schema_name,)]  # fmt: skip
    assert _sql("SELECT count(*) FROM tenants_tenant WHERE id > %s", [committed.max_ids["tenants_tenant"]]) == [(1,)]


def test_two_pool_claims_for_one_subdomain_leave_the_losers_spare_intact(
    committed: Committed, db: None, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.TENANT_POOL_SIZE = 2
    spares = race(provisioning.spare_create, provisioning.spare_create, monkeypatch=monkeypatch)
    assert all(isinstance(s, Tenant) for s in spares), spares
    settings.TENANT_POOL_SIZE = 0  # no refill after the claims

    results = race(
        create("claimed", Method.POOL), create("claimed", Method.POOL), wait="after", monkeypatch=monkeypatch
    )

    winners = [r for r in results if isinstance(r, tuple)]
    assert len(winners) == 1, results
    assert isinstance(next(r for r in results if isinstance(r, Exception)), SubdomainTaken)
    winner = winners[0][0]
    assert winner.pk in {s.pk for s in spares}  # both locked a different spare (SKIP LOCKED), one gave it back
    assert committed.new_schemas() == {s.schema_name for s in spares}
    statuses = dict(_sql("SELECT schema_name, status FROM tenants_tenant WHERE id = ANY(%s)", [[s.pk for s in spares]]))
    assert sorted(statuses.values()) == ["active", "spare"]
    loser_spare = next(s for s in spares if s.pk != winner.pk)
    assert _sql("SELECT count(*) FROM tenants_domain WHERE tenant_id = %s", [loser_spare.pk]) == [(0,)]


def test_a_locked_spare_is_skipped_not_waited_for(
    committed: Committed, db: None, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.TENANT_POOL_SIZE = 1
    spare = race(provisioning.spare_create, monkeypatch=monkeypatch)[0]
    assert isinstance(spare, Tenant), spare
    settings.TENANT_POOL_SIZE = 5

    results = race(create("first-co"), create("second-co"), wait="after", monkeypatch=monkeypatch)

    assert all(isinstance(r, tuple) for r in results), results
    vias = dict(_sql("SELECT d.domain, t.id = %s FROM tenants_domain d JOIN tenants_tenant t ON t.id = d.tenant_id"
                     " WHERE d.domain IN ('first-co.localhost', 'second-co.localhost')", [spare.pk]))  # fmt: skip
    assert sorted(vias.values()) == [False, True]  # one claimed the spare, the other did not wait: fast path
    assert _sql("SELECT status FROM tenants_tenant WHERE id = %s", [spare.pk]) == [(TenantStatus.ACTIVE,)]
