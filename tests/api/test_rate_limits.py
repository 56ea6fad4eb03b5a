"""Rate limits that hold: per key and per workspace, from the plan (billing's `api_request_allow`, the one mechanism),
counted atomically in the shared cache — Redis (one Lua script), or the database cache every process shares on the
embedded default (one upsert under row locks). 50 concurrent requests at a limit of 10: exactly 10 through. A 429
says which limit of which plan, with Retry-After; every response carries RateLimit-* headers."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache

from billing import plans
from billing.entitlements import api_request_allow
from billing.plans import Limit, Resource
from shared_apps.accounts.models import ApiKey, Membership, Role, User
from shared_apps.accounts.services import api_key_create
from shared_apps.core.ratelimit import Bucket, window_peek, window_take, window_take_up_to
from tenants.models import Tenant
from tests.api.conftest import error_of, key_for, with_key
from tests.conftest import HostClient, host_of
from tests.helpers import committed_sql, in_own_connection, run_concurrently


def _limit_plan(monkeypatch: pytest.MonkeyPatch, *, workspace: int, per_key: int) -> None:
    """The trial plan (what a workspace billing does not know yet runs on) with these API limits."""
    plan = plans.PLANS[plans.TRIAL_PLAN]
    limits = {
        **plan.limits,
        Resource.API_REQUESTS_PER_MINUTE: Limit(workspace),
        Resource.API_REQUESTS_PER_MINUTE_PER_KEY: Limit(per_key),
    }
    monkeypatch.setitem(plans.PLANS, plans.TRIAL_PLAN, replace(plan, limits=limits))


def test_every_response_says_where_the_caller_stands(tenant: Tenant, api: HostClient) -> None:
    first, second = api.get("/api/v1/me/"), api.get("/api/v1/projects/")
    pro = plans.PLANS["pro"]
    assert first["RateLimit-Limit"] == str(pro.limit(Resource.API_REQUESTS_PER_MINUTE_PER_KEY).value)
    assert int(first["RateLimit-Remaining"]) - 1 == int(second["RateLimit-Remaining"])
    assert 1 <= int(first["RateLimit-Reset"]) <= 60
    assert first["RateLimit-Policy"] == f"{first['RateLimit-Limit']};w=60"


def test_past_the_keys_limit_a_429_says_why_and_when(
    tenant: Tenant, owner: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    _limit_plan(monkeypatch, workspace=100, per_key=3)
    api, other = with_key(tenant, key_for(tenant, owner)), with_key(tenant, key_for(tenant, owner, name="Other"))
    assert [api.get("/api/v1/me/").status_code for _ in range(3)] == [200, 200, 200]
    refused = api.get("/api/v1/me/")
    assert refused.status_code == 429
    error = error_of(refused)
    assert error["code"] == "throttled"
    assert "allows 3 API requests per minute for one API key" in error["message"]
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused["RateLimit-Limit"] == "3"
    assert refused["RateLimit-Remaining"] == "0"
    assert refused["RateLimit-Reset"] == refused["Retry-After"]
    assert other.get("/api/v1/me/").status_code == 200  # another key has its own budget


def test_the_workspaces_limit_holds_across_keys(tenant: Tenant, owner: User, monkeypatch: pytest.MonkeyPatch) -> None:
    _limit_plan(monkeypatch, workspace=4, per_key=3)
    a, b = with_key(tenant, key_for(tenant, owner, name="A")), with_key(tenant, key_for(tenant, owner, name="B"))
    codes = [a.get("/api/v1/me/").status_code, a.get("/api/v1/me/").status_code, b.get("/api/v1/me/").status_code]
    codes += [b.get("/api/v1/me/").status_code, b.get("/api/v1/me/").status_code]
    assert codes == [200, 200, 200, 200, 429]
    assert "for this workspace" in error_of(b.get("/api/v1/me/"))["message"]


def test_a_refused_request_is_not_counted(tenant: Tenant) -> None:
    buckets = [Bucket(f"t:{uuid.uuid4()}", 2)]
    results = [window_take(buckets, now=120.0).allowed for _ in range(5)]
    assert results == [True, True, False, False, False]
    assert window_take(buckets, now=120.0).counts == (2,)
    assert window_take(buckets, now=180.0).allowed  # the next window


def test_billings_entitlement_counts_per_workspace_and_per_client(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    _limit_plan(monkeypatch, workspace=3, per_key=2)
    now = 6000.0
    assert [api_request_allow(tenant_id=tenant.pk, client="k1", now=now).allowed for _ in range(3)] == [
        True,
        True,
        False,
    ]
    decision = api_request_allow(tenant_id=tenant.pk, client="k2", now=now)
    assert decision.allowed
    assert decision.scope == "workspace"
    assert decision.remaining == 0
    refused = api_request_allow(tenant_id=tenant.pk, client="k3", now=now)
    assert not refused.allowed
    assert refused.scope == "workspace"
    assert refused.limit == 3
    assert refused.reset_after == 60 - int(now) % 60 or refused.reset_after == 60


# --- under real concurrency ----------------------------------------------------------------------------------------


def _backends() -> list[Any]:
    found: list[Any] = [pytest.param(DatabaseCache("atrium_cache_shared", {"KEY_PREFIX": "racetest"}), id="database")]
    if settings.REDIS_URL:
        found.append(pytest.param(RedisCache(settings.REDIS_URL, {"KEY_PREFIX": "racetest"}), id="redis"))
    else:
        found.append(pytest.param(None, id="redis", marks=pytest.mark.skip(reason="no REDIS_URL")))
    return found


@pytest.mark.parametrize("cache", _backends())
def test_fifty_concurrent_takes_at_a_limit_of_ten_let_exactly_ten_through(db: None, cache: Any) -> None:
    """Each caller on its own thread and database connection (committing for real), released together."""
    key = f"race:{uuid.uuid4()}"
    barrier = threading.Barrier(50, timeout=30)
    results = run_concurrently(
        [lambda: window_take([Bucket(key, 10), Bucket(key + ":ws", 1000)], now=42.0, cache=cache)] * 50,
        before_each=barrier.wait,
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(1 for r in results if r.allowed) == 10
    assert window_take([Bucket(key, 10)], now=42.0, cache=cache).counts == (10,)
    assert window_take([Bucket(key + ":ws", 1000)], now=42.0, cache=cache).counts == (
        11,
    )  # the refused 40: not counted


@pytest.mark.parametrize("cache", _backends())
def test_taking_many_at_once_fills_the_limit_exactly_under_concurrency(db: None, cache: Any) -> None:
    """A batch (a workspace's webhook deliveries) counts as many as fit in one step: 20 callers asking for 3 each at a
    limit of 25 get 25 in all, the one that straddles the limit gets part of its batch, and nothing more is
    counted."""
    key = f"race-many:{uuid.uuid4()}"
    barrier = threading.Barrier(20, timeout=30)
    results = run_concurrently(
        [lambda: window_take_up_to(Bucket(key, 25), 3, now=42.0, cache=cache)] * 20, before_each=barrier.wait
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    taken = sorted(r[0] for r in results)
    assert sum(taken) == 25
    assert taken.count(3) == 8
    assert taken.count(1) == 1
    assert {r[1] for r in results} == {60.0}
    assert window_take_up_to(Bucket(key, 25), 5, now=42.0, cache=cache)[0] == 0
    assert window_peek([Bucket(key, 25)], now=42.0, cache=cache).counts == (25,)  # the refused ones: not counted
    assert window_take_up_to(Bucket(key, 25), 5, now=61.0, cache=cache)[0] == 5  # the next window


@pytest.fixture
def committed_key(_session_tenants: dict[str, Tenant], django_db_blocker: Any) -> Iterator[tuple[Tenant, str]]:
    """A member of acme with a read-and-write key, committed (the requests below run on connections of their own)."""
    acme = _session_tenants["acme"]
    email = f"race-{uuid.uuid4().hex[:8]}@race.test"

    def make() -> str:
        user = User.objects.create_user(email=email, password=None)
        Membership.objects.create(user=user, tenant=acme, role=Role.MEMBER)
        return api_key_create(tenant=acme, name="race", scope="write", acting_user=user)[1]

    with django_db_blocker.unblock():
        secret = in_own_connection(make)
    assert secret
    yield acme, secret
    committed_sql(f'DELETE FROM "{acme.schema_name}".audit_auditentry WHERE actor_label = %s', [email])  # noqa: S608
    committed_sql(
        "DELETE FROM accounts_apikey WHERE user_id IN (SELECT id FROM accounts_user WHERE email = %s)", [email]
    )
    committed_sql(
        "DELETE FROM accounts_membership WHERE user_id IN (SELECT id FROM accounts_user WHERE email = %s)", [email]
    )
    committed_sql("DELETE FROM account_emailaddress WHERE email = %s", [email])
    committed_sql("DELETE FROM accounts_user WHERE email = %s", [email])
    committed_sql("DELETE FROM atrium_cache_shared WHERE cache_key LIKE %s", ["%api-rate:%"])


def test_fifty_concurrent_api_requests_at_a_limit_of_ten_get_exactly_ten_through(
    db: None, committed_key: tuple[Tenant, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the whole stack (routing, the key's lookup, the throttle, the view), 50 requests released at once."""
    tenant, secret = committed_key
    _limit_plan(monkeypatch, workspace=1000, per_key=10)
    host = host_of(tenant)
    barrier = threading.Barrier(50, timeout=30)

    def call() -> int:
        return HostClient(host, HTTP_AUTHORIZATION=f"Bearer {secret}").get("/api/v1/me/").status_code

    codes = run_concurrently([call] * 50, before_each=barrier.wait)
    assert sorted(codes) == [200] * 10 + [429] * 40, codes
    assert ApiKey.objects.filter(name="race").count() == 1


def test_without_redis_the_counters_live_in_the_database_cache_every_process_shares() -> None:
    cache = caches["shared"]
    if settings.REDIS_URL:
        assert isinstance(cache, RedisCache)
    else:
        assert isinstance(cache, DatabaseCache)


def _peek_backends() -> list[Any]:

    return [*_backends(), pytest.param(LocMemCache(f"peek-{uuid.uuid4()}", {}), id="local-memory")]


@pytest.mark.parametrize("cache", _peek_backends())
def test_a_peek_counts_nothing_and_says_whether_one_more_would_pass(db: None, cache: Any) -> None:
    """What the wrong-key throttle reads before it looks a key up: the counts `window_take` left, nothing added."""

    key = f"peek:{uuid.uuid4()}"
    bucket = Bucket(key, 3)
    assert window_peek([bucket], now=42.0, cache=cache).counts == (0,)
    for _ in range(3):
        assert window_peek([bucket], now=42.0, cache=cache).allowed
        assert window_take([bucket], now=42.0, cache=cache).allowed

    full = window_peek([bucket], now=42.0, cache=cache)

    assert (full.allowed, full.counts, full.refused_by) == (False, (3,), 0)
    assert full.reset_after(now=42.0) == 18
    assert window_peek([bucket], now=42.0, cache=cache).counts == (3,)  # peeking twice counted nothing
    assert window_peek([bucket], now=61.0, cache=cache).allowed  # the next window starts empty
    assert not window_take([bucket], now=42.0, cache=cache).allowed
