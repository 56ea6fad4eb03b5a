"""The event stream: written with the change, handed to consumers after commit, nothing from a rolled-back change."""

from __future__ import annotations

import functools
import threading
import time
from typing import Any

import pytest
from django.db import transaction
from django_tenants.utils import schema_context

from shared_apps.core import coalesce
from tenant_apps.audit import dispatch
from tenant_apps.audit.events import EventType, event_emit
from tenant_apps.audit.models import Event, EventCursor
from tests.helpers import committed_sql, run_concurrently, wait_until

pytestmark = pytest.mark.django_db


@pytest.fixture
def seen() -> Any:
    got: list[str] = []
    dispatch.consumer_register("test-recorder", lambda events: got.extend(e.event_id for e in events))
    yield got
    dispatch._consumers.pop("test-recorder", None)


def test_an_event_reaches_a_consumer_after_commit(tenant, in_tenant, owner, seen, django_capture_on_commit_callbacks):
    with in_tenant(tenant), django_capture_on_commit_callbacks(execute=True):
        event_id = event_emit(tenant=tenant, type=EventType.PROJECT_CREATED, actor=owner, data={"id": 1})
        assert seen == []  # nothing before commit
    assert seen == [event_id]
    with in_tenant(tenant):
        event = Event.objects.get(event_id=event_id)
        assert event.payload()["type"] == "project.created"
        assert event.payload()["data"] == {"id": 1}
        assert EventCursor.objects.filter(consumer="test-recorder").exists()


def test_a_rolled_back_change_emits_nothing(tenant, in_tenant, owner, seen, django_capture_on_commit_callbacks):
    with in_tenant(tenant), django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                event_emit(tenant=tenant, type=EventType.PROJECT_CREATED, actor=owner, data={"id": 1})
                raise RuntimeError("the change fails")
        except RuntimeError:
            pass
    assert callbacks == []
    assert seen == []
    with in_tenant(tenant):
        assert not Event.objects.exists()


def test_one_dispatch_per_transaction(tenant, in_tenant, owner, seen, django_capture_on_commit_callbacks):
    with in_tenant(tenant), django_capture_on_commit_callbacks(execute=True) as callbacks:
        for number in range(5):
            event_emit(tenant=tenant, type=EventType.TASK_CREATED, actor=owner, data={"id": number})
    assert len([c for c in callbacks if c.__qualname__.startswith("_dispatcher")]) == 1
    assert len(seen) == 5


def test_events_stay_in_their_workspace(
    tenant, other_tenant, in_tenant, owner, seen, django_capture_on_commit_callbacks
):
    with in_tenant(tenant), django_capture_on_commit_callbacks(execute=True):
        event_emit(tenant=tenant, type=EventType.TASK_CREATED, actor=owner, data={"id": 1})
    with in_tenant(other_tenant):
        assert not Event.objects.exists()


def test_a_second_dispatch_hands_out_nothing_twice(tenant, in_tenant, owner, seen, django_capture_on_commit_callbacks):
    with in_tenant(tenant), django_capture_on_commit_callbacks(execute=True):
        first = event_emit(tenant=tenant, type=EventType.TASK_CREATED, actor=owner, data={"id": 1})
    with in_tenant(tenant), django_capture_on_commit_callbacks(execute=True):
        second = event_emit(tenant=tenant, type=EventType.TASK_CREATED, actor=owner, data={"id": 2})
    with in_tenant(tenant):
        dispatch.events_dispatch()
        # the test's own transaction is still open: its events sit above the line, listed as handed
        assert set(EventCursor.objects.get(consumer="test-recorder").handed) >= {
            Event.objects.get(event_id=first).pk,
            Event.objects.get(event_id=second).pk,
        }
    assert seen == [first, second]


def test_the_sweep_dispatches_where_events_wait(tenant, in_tenant, owner, seen, django_capture_on_commit_callbacks):
    with in_tenant(tenant):
        # written, but its dispatch lost (as with a worker killed after the commit)
        event_id = event_emit(tenant=tenant, type=EventType.TASK_CREATED, actor=owner, data={"id": 1})
    # (the sweep goes over every workspace: others may hold events browser tests committed, handed out here too)
    with django_capture_on_commit_callbacks(execute=True):
        assert dispatch.events_sweep() >= 1
    assert seen.count(event_id) == 1
    with django_capture_on_commit_callbacks(execute=True):
        dispatch.events_sweep()
    assert seen.count(event_id) == 1


@pytest.mark.django_db
def test_concurrent_commits_share_dispatches_and_every_event_is_handed_out_once(settings, tenant, monkeypatch):
    """Four writers commit 25 events each, one per transaction, while the dispatcher runs on threads (as without a
    broker): at most one dispatch waits per workspace, so there are fewer dispatches than commits, and every
    committed event reaches the consumer exactly once."""
    settings.TASKS_IN_PROCESS_THREADS = 4
    monkeypatch.setattr(coalesce, "_pools", {})
    monkeypatch.setattr(coalesce, "_local", coalesce.LocalFlags())
    seen: list[str] = []
    batches: list[int] = []
    lock = threading.Lock()

    def record(events: Any) -> None:
        time.sleep(0.02)  # a consumer's work: commits go on meanwhile
        with lock:
            seen.extend(e.event_id for e in events)
            batches.append(len(events))

    monkeypatch.setattr(dispatch, "_consumers", {"coalesce-test": dispatch.Consumer("coalesce-test", record)})
    runs: list[int] = []
    run = dispatch.dispatch_pending

    def counted(schema: str) -> int:
        runs.append(1)
        return run(schema)

    monkeypatch.setattr(dispatch, "dispatch_pending", counted)

    def writer(number: int) -> list[str]:
        made = []
        with schema_context(tenant.schema_name):
            for index in range(25):
                with transaction.atomic():
                    made.append(event_emit(tenant=tenant, type=EventType.TASK_CREATED, actor=None, data={"id": index}))
        return made

    emitted: list[str] = []
    try:
        results = run_concurrently([functools.partial(writer, n) for n in range(4)])
        assert not [r for r in results if isinstance(r, Exception)], results
        emitted = [event_id for made in results for event_id in made]
        wanted = set(emitted)
        # The consumer is also handed what earlier tests left undispatched in this workspace's stream (a long run
        # leaves some): only this test's events are counted.
        wait_until("every event handed out", lambda: wanted <= set(seen), timeout=30)
        for pool in list(coalesce._pools.values()):
            pool.shutdown(wait=True)
        assert sorted(e for e in seen if e in wanted) == sorted(emitted)  # none lost, none twice
        assert len(runs) < len(emitted)  # commits shared dispatches
        assert sum(batches) == len(seen)  # every batch handed over whole, once
    finally:
        for pool in list(coalesce._pools.values()):
            pool.shutdown(wait=True)
        schema = tenant.schema_name
        committed_sql(f'DELETE FROM "{schema}".audit_event WHERE event_id = ANY(%s)', [emitted])  # noqa: S608
        committed_sql(f'DELETE FROM "{schema}".audit_eventcursor WHERE consumer = %s', ["coalesce-test"])  # noqa: S608


@pytest.mark.django_db
def test_a_failing_consumer_is_undone_and_retried_without_holding_the_others_back(
    tenant, in_tenant, owner, seen, django_capture_on_commit_callbacks
):
    failures = [RuntimeError("the consumer's receiver is down")]
    got: list[str] = []

    def flaky(events: Any) -> None:
        EventCursor.objects.create(consumer="flaky-side-effect")  # a write of its own, undone with it
        if failures:
            raise failures.pop()
        got.extend(e.event_id for e in events)

    dispatch.consumer_register("test-flaky", flaky)
    try:
        with in_tenant(tenant), django_capture_on_commit_callbacks(execute=True):
            event_id = event_emit(tenant=tenant, type=EventType.TASK_CREATED, actor=owner, data={"id": 1})
        assert seen == [event_id]  # the other consumer got it in the same batch
        assert got == []
        with in_tenant(tenant):
            assert not EventCursor.objects.filter(consumer="flaky-side-effect").exists()
            dispatch.events_dispatch()  # the next dispatch retries it from its position
            assert EventCursor.objects.filter(consumer="flaky-side-effect").count() == 1
        assert got == [event_id]
        assert seen == [event_id]  # and nobody else got it twice
    finally:
        dispatch._consumers.pop("test-flaky", None)
