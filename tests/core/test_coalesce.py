"""At most one waiting run per key: a claim while one waits is refused, the run clears the flag before it reads, and
without a broker the run goes to a thread of this process (shared_apps/core/coalesce.py)."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest

from shared_apps.core import coalesce
from tenants.db import connection
from tests.faults.servers import free_port, redis_available, redis_server


class FakeTask:
    """What `enqueue_once` needs of a task: a name and `delay` (run where it is called, as an eager task is)."""

    name = "tests.coalesce_probe"

    def __init__(self, key: str) -> None:
        self.key = key
        self.runs: list[tuple[str, str, dict[str, Any]]] = []
        self.done = threading.Event()

    def delay(self, **kwargs: Any) -> None:
        coalesce.release(self.key)
        self.runs.append((threading.current_thread().name, str(connection.schema_name), kwargs))
        self.done.set()


def test_a_claim_while_a_run_waits_is_refused_and_the_run_clears_it_first() -> None:
    flags = coalesce.LocalFlags()
    assert flags.claim("acme", ttl=60)
    assert not flags.claim("acme", ttl=60)  # one is waiting: it will read what this commit wrote
    assert flags.claim("globex", ttl=60)  # another key is another flag
    flags.release("acme")  # the run starts: whatever commits next needs a run of its own
    assert flags.claim("acme", ttl=60)


def test_a_flag_whose_run_never_came_expires() -> None:
    flags = coalesce.LocalFlags()
    assert flags.claim("acme", ttl=0.05)
    time.sleep(0.1)
    assert flags.claim("acme", ttl=60)


@pytest.mark.django_db
def test_without_threads_the_run_happens_in_the_committing_thread(settings, tenant, in_tenant) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER, settings.TASKS_IN_PROCESS_THREADS = True, 0
    key = f"test:{uuid.uuid4()}"
    task = FakeTask(key)
    assert coalesce.enqueue_once(task, key=key, schema_name=tenant.schema_name, n=1)
    assert task.runs == [(threading.current_thread().name, tenant.schema_name, {"n": 1})]
    assert coalesce.enqueue_once(task, key=key, schema_name=tenant.schema_name, n=2)  # the run cleared the flag
    assert len(task.runs) == 2


@pytest.mark.django_db
def test_with_threads_the_run_goes_to_the_queues_pool_and_commits_meanwhile_are_coalesced(
    settings, tenant, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER, settings.TASKS_IN_PROCESS_THREADS = True, 2
    settings.TASKS_IN_PROCESS_QUEUE_THREADS = {}
    monkeypatch.setattr(coalesce, "_pools", {})  # a pool of this test's own, of 2 threads
    key = f"test:{uuid.uuid4()}"
    task = FakeTask(key)
    gate = threading.Event()
    for _busy in range(2):  # both threads busy: the run waits
        coalesce._pool("celery", 2).submit(gate.wait, 10)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            coalesce.enqueue_once_on_commit(task, key=key, schema_name=tenant.schema_name, n=1)
            assert coalesce.flags().claim(key, ttl=60)  # nothing is claimed before the commit
            coalesce.release(key)
        for n in (2, 3):  # later commits while the run waits: coalesced into it
            assert not coalesce.enqueue_once(task, key=key, schema_name=tenant.schema_name, n=n)
    finally:
        gate.set()
    assert task.done.wait(10)
    coalesce._pool("celery", 2).shutdown(wait=True)
    assert len(task.runs) == 1
    thread, schema, kwargs = task.runs[0]
    assert thread.startswith("atrium-tasks-celery")
    assert (schema, kwargs) == (tenant.schema_name, {"n": 1})


@pytest.mark.skipif(not redis_available(), reason="needs redis-server (Debian: apt-get install redis-server)")
def test_with_a_redis_broker_every_process_sees_the_flag_and_an_unreachable_redis_never_holds_a_run_back() -> None:
    with redis_server(free_port()) as (_process, port):
        url = f"redis://127.0.0.1:{port}/0"
        web, worker = coalesce.RedisFlags(url), coalesce.RedisFlags(url)  # two processes' clients
        assert web.claim("acme", ttl=60)
        assert not worker.claim("acme", ttl=60)
        worker.release("acme")  # the worker's run starts
        assert web.claim("acme", ttl=1)
        time.sleep(1.5)
        assert worker.claim("acme", ttl=60)  # expired: a process died between claiming and enqueueing
    assert web.claim("acme", ttl=60)  # Redis gone: enqueue rather than wait for a run nobody may have asked for
    web.release("acme")  # and clearing is a no-op, not an error


def test_the_flags_follow_where_tasks_run(settings) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True
    assert isinstance(coalesce.flags(), coalesce.LocalFlags)
    settings.CELERY_TASK_ALWAYS_EAGER, settings.CELERY_BROKER_URL = False, "redis://127.0.0.1:1/0"
    assert isinstance(coalesce.flags(), coalesce.RedisFlags)
    settings.CELERY_BROKER_URL = "amqp://127.0.0.1//"
    assert isinstance(coalesce.flags(), coalesce.NoFlags)
