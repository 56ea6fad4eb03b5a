"""A Celery worker killed mid-task: the message comes back (acks_late + reject_on_worker_lost), the task runs again,
and its effect happens once.

A real worker (prefork, one child) over a redis-server of the test's own runs the welcome of acme. The test holds a
lock on acme's projects table, so the task is caught in the middle (the workspace read, the project not yet made,
no email sent); the pool child is killed with SIGKILL, as the OOM killer does. The worker requeues the message, a new
child picks it up, the lock is released, and the task completes: one project, one email.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import psycopg
import pytest

from shared_apps.workspaces.tasks import workspace_welcome
from tenant_apps.projects.services import WELCOME_PROJECT_NAME
from tenants.models import Tenant
from tests.faults.servers import celery_worker, redis_available, stop
from tests.helpers import database_url_for_tests, subprocess_env, wait_until

pytestmark = [
    pytest.mark.faults,
    pytest.mark.skipif(not redis_available(), reason="needs redis-server (Debian: apt-get install redis-server)"),
]

WAIT_S = 60.0  # generous: a worker's start and a task's run on a loaded 2-core machine


def _until(what: str, check: Any, timeout: float = WAIT_S) -> Any:
    return wait_until(what, check, timeout)


def _blocked_backends(conn: psycopg.Connection[Any]) -> set[int]:
    rows = conn.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' "
        "AND query LIKE %s",
        ['%"projects_project"%'],
    ).fetchall()
    return {row[0] for row in rows}


@pytest.fixture
def committed_cleanup(_session_tenants: dict[str, Tenant]) -> Iterator[None]:
    yield
    with psycopg.connect(database_url_for_tests(), autocommit=True) as conn:
        for t in _session_tenants.values():
            conn.execute(f'TRUNCATE "{t.schema_name}".projects_project, "{t.schema_name}".audit_auditentry CASCADE')
        conn.execute("DELETE FROM public.core_taskeffect WHERE key LIKE 'workspaces.welcome:%%'")


def test_a_worker_killed_mid_task_runs_it_again_and_its_effect_happens_once(
    committed_cleanup: None,
    broker: str,
    tenant: Tenant,
    in_tenant: Any,
    tmp_path: Path,
) -> None:
    queue = f"faults-{uuid.uuid4().hex[:8]}"
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    env = subprocess_env(
        REDIS_URL=broker,
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        EMAIL_FILE_PATH=str(mail_dir),
    )
    schema = tenant.schema_name
    worker = celery_worker(env, queue=queue)
    lock = psycopg.connect(database_url_for_tests())
    watch = psycopg.connect(database_url_for_tests(), autocommit=True)
    try:
        # given: the task will stop in its middle (acme's projects locked), and the worker has taken it
        lock.execute(f'LOCK TABLE "{schema}".projects_project IN ACCESS EXCLUSIVE MODE')
        with in_tenant(tenant):
            workspace_welcome.apply_async(kwargs={"owner_email": "owner@acme.test"}, queue=queue)
        first = _until("the task started and waits", lambda: _blocked_backends(watch))
        children = psutil.Process(worker.pid).children()
        assert len(children) == 1, children

        # when: its pool process is killed
        os.kill(children[0].pid, signal.SIGKILL)

        # then: the message comes back, and a new pool process runs the task again
        _until("the task ran again", lambda: _blocked_backends(watch) - first)
        lock.rollback()  # the task may go on now
        sent = _until("the welcome email", lambda: list(mail_dir.glob("*.log")))
        with in_tenant(tenant):
            _until("the project, committed", lambda: _count_projects(schema) == 1)
        time.sleep(1)  # what a duplicate run would have done by now
    finally:
        lock.close()
        watch.close()
        output = stop(worker)

    assert "WorkerLostError" in output or "signal 9" in output, output[-3000:]
    assert _count_projects(schema) == 1
    emails = [
        m for path in mail_dir.glob("*.log") for m in path.read_text().split("-" * 79) if "To: owner@acme.test" in m
    ]
    assert len(emails) == 1, (sent, output[-2000:])


def _count_projects(schema: str) -> int:
    with psycopg.connect(database_url_for_tests(), autocommit=True) as conn:
        row = conn.execute(
            f'SELECT count(*) FROM "{schema}".projects_project WHERE name = %s',  # noqa: S608
            [str(WELCOME_PROJECT_NAME)],
        ).fetchone()
    return int(row[0]) if row else 0
