"""The test harness.

Two tenants, `acme` and `globex`, are created once per session by the production fast path (the template schema is
migrated once, then copied) and shared by every test;
each test runs in a transaction that is rolled back, so tenant data never leaks from one test to the next. Fixtures:

- `tenant` / `other_tenant`: acme / globex (fresh instances), `in_tenant(t)`: point the connection at a schema.
- `owner` / `member`: users with that role in `tenant`; `tenant_client` / `other_tenant_client` / `public_client`:
  Django clients whose requests carry that host.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest
from celery import _state as celery_state
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.db import BaseDatabaseCache
from django.db import connections, transaction
from django.test import Client
from django.utils import timezone, translation
from django_tenants.utils import tenant_context

from billing.entitlements import plan_memory_forget
from shared_apps.accounts.models import Membership, Role, User
from shared_apps.accounts.sessions import SESSION_TENANT_KEY
from shared_apps.core import coalesce
from shared_apps.identity import dns_client
from shared_apps.identity.selectors import policy_memory_forget as identity_policy_memory_forget
from tenants import citus, provisioning, routing
from tenants.db import connection
from tenants.models import Domain, Tenant, TenantStatus
from tenants.routing import resolve
from tenants.services import public_tenant_ensure
from tests.factories import MembershipFactory, UserFactory

TENANTS = {"acme": "Acme Inc", "globex": "Globex Corporation"}


def _make_tenant(slug: str, name: str) -> Tenant:
    """A workspace by the production fast path (the template's snapshot replayed), with its primary domain."""

    with transaction.atomic():
        tenant, _via = provisioning.tenant_with_schema(
            name=name, status=TenantStatus.ACTIVE, method=provisioning.Method.FAST
        )
        Domain.objects.create(tenant=tenant, domain=f"{slug}.{settings.BASE_DOMAIN}", is_primary=True)
    return tenant


def citus_expectation_refusal(*, is_citus: bool, environ: Any) -> str | None:
    """Why the suite must not run: told to expect Citus (ATRIUM_EXPECT_CITUS=1) and given plain PostgreSQL, which
    happens when pytest creates test_<name> itself instead of reusing the one made on the coordinator."""
    if environ.get("ATRIUM_EXPECT_CITUS") != "1" or is_citus:
        return None
    return (
        "ATRIUM_EXPECT_CITUS=1, but the test database is plain PostgreSQL (no citus extension): pytest made "
        "test_<name> itself. Make it on the coordinator first, then reuse it: infra/citus/createdb.sh --fresh "
        "test_<name>, and make test PYTEST_ARGS=--reuse-db (docs/citus.md)."
    )


@pytest.fixture(scope="session", autouse=True)
def _live_listener_stopped(django_db_setup: None) -> Iterator[None]:
    """The live bus's listener holds a database session of its own: ended before the test database is dropped."""
    yield
    from shared_apps.core.live import hub  # noqa: PLC0415  (after Django's setup)

    hub().stop()


@pytest.fixture(scope="session")
def _session_tenants(django_db_setup: None, django_db_blocker: Any) -> dict[str, Tenant]:
    """The template is migrated once per session; acme and globex are copies of it, as signup makes them. On a Citus
    coordinator (docs/citus.md), the public tables tenant tables point at become reference tables first."""
    with django_db_blocker.unblock():
        is_citus = citus.coordinator_state().is_citus
        refusal = citus_expectation_refusal(is_citus=is_citus, environ=os.environ)
        if refusal:
            pytest.exit(refusal, returncode=2)
        if is_citus:
            citus.prepare(citus.plan_derive())
        public_tenant_ensure()
        provisioning.template_ensure()
        return {slug: _make_tenant(slug, name) for slug, name in TENANTS.items()}


@pytest.fixture(scope="session")
def _cache_connection(django_db_setup: None, django_db_blocker: Any) -> Iterator[Any]:
    """A connection of its own for emptying the database-cache tables, outside every test's transaction."""
    with django_db_blocker.unblock():
        conn = connections.create_connection("default")
        try:
            yield conn
        finally:
            conn.close()


def _uses_database(request: pytest.FixtureRequest) -> bool:
    return request.node.get_closest_marker("django_db") is not None or bool(
        {"db", "transactional_db"} & set(request.fixturenames)
    )


class _NoDns:
    """The DNS as tests see it unless they install their own (tests/identity): no record anywhere, and no socket."""

    def txt(self, name: str) -> list[str]:
        return []


@pytest.fixture(autouse=True, scope="session")
def _no_dns() -> Iterator[None]:
    dns_client.resolver_set(_NoDns())
    yield
    dns_client.resolver_set(None)


@pytest.fixture(autouse=True)
def _media(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Every test stores files in a folder of its own (the filesystem backend; tests/storage/ also runs on S3)."""
    settings = request.getfixturevalue("settings")
    root = tmp_path_factory.mktemp("media")
    settings.MEDIA_ROOT = root
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "shared_apps.storage.backends.TenantFileSystemStorage", "OPTIONS": {"location": root}},
    }


@pytest.fixture(autouse=True)
def _reset_between_tests(request: pytest.FixtureRequest, django_db_blocker: Any) -> Iterator[None]:

    routing.clear()
    plan_memory_forget()
    identity_policy_memory_forget()
    coalesce.local_forget()  # a test that enqueued to the outbox leaves its "run waiting" flag set
    for alias in ("shared", "default"):
        cache = caches[alias]
        if not isinstance(cache, BaseDatabaseCache):
            cache.clear()
        elif _uses_database(request):
            # Without REDIS_URL the caches are tables. A test's own entries roll back with its transaction; what
            # server subprocesses or own-connection helpers committed is deleted here, at once, on a connection of its
            # own: inside the test's transaction the DELETE would hold row locks a server subprocess may wait on.
            conn = request.getfixturevalue("_cache_connection")
            table = conn.ops.quote_name(cache.cache_model_class._meta.db_table)
            with django_db_blocker.unblock(), conn.cursor() as cursor:
                cursor.execute(f"DELETE FROM {table}")  # noqa: S608
    yield
    connection.set_schema_to_public()
    routing.clear()
    # A request in another language or time zone leaves it active in this thread: the next test starts in English, UTC.
    translation.deactivate()
    timezone.deactivate()
    # Celery's process-wide "inside a worker" mark, set when a test starts publishing without a broker: cleared so
    # the next test's `.delay().get()` runs eagerly as configured.
    celery_state._set_task_join_will_block(False)  # type: ignore[attr-defined]


@pytest.fixture
def tenant(db: None, _session_tenants: dict[str, Tenant]) -> Tenant:
    return Tenant.objects.get(pk=_session_tenants["acme"].pk)


@pytest.fixture
def other_tenant(db: None, _session_tenants: dict[str, Tenant]) -> Tenant:
    return Tenant.objects.get(pk=_session_tenants["globex"].pk)


@pytest.fixture
def in_tenant() -> Any:
    """`with in_tenant(t):` runs the block in t's schema and returns to the previous one after."""

    def enter(t: Tenant) -> AbstractContextManager[None]:
        return tenant_context(t)

    return enter


def host_of(t: Tenant) -> str:
    return Domain.objects.get(tenant=t, is_primary=True).domain


@pytest.fixture
def owner(tenant: Tenant) -> User:
    return MembershipFactory.create(tenant=tenant, role=Role.OWNER, user__email="owner@acme.test").user


@pytest.fixture
def member(tenant: Tenant) -> User:
    return MembershipFactory.create(tenant=tenant, role=Role.MEMBER, user__email="member@acme.test").user


@pytest.fixture
def outsider(other_tenant: Tenant) -> User:
    """An owner of globex with no membership in acme."""
    return MembershipFactory.create(tenant=other_tenant, role=Role.OWNER, user__email="owner@globex.test").user


class HostClient(Client):
    """A test client whose requests carry one host, and whose `force_login` makes a session for that host, as a real
    sign-in there would (sessions record the host they were made for: shared_apps/accounts/sessions.py)."""

    def __init__(self, host: str, **defaults: Any) -> None:
        super().__init__(HTTP_HOST=host, **defaults)
        self.host = host

    def force_login(self, user: Any, backend: str | None = None) -> None:

        super().force_login(user, backend)
        route = resolve(self.host)
        session = self.session
        session[SESSION_TENANT_KEY] = route.tenant_id if route else -1
        session.save()


def client_for(t: Tenant) -> HostClient:
    return HostClient(host_of(t))


@pytest.fixture
def tenant_client(tenant: Tenant) -> HostClient:
    return client_for(tenant)


@pytest.fixture
def other_tenant_client(other_tenant: Tenant) -> HostClient:
    return client_for(other_tenant)


@pytest.fixture
def public_client(db: None, _session_tenants: dict[str, Tenant]) -> HostClient:

    return HostClient(settings.BASE_DOMAIN)


__all__ = ["Membership", "UserFactory", "host_of"]
