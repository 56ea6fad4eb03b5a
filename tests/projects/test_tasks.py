"""Tasks run in the schema of the tenant that enqueued them; a tenant task without a tenant is refused."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django_tenants.utils import tenant_context

from config.celery import app as celery_app
from shared_apps.accounts.models import User
from shared_apps.core.context import RequestContext, bound, current
from shared_apps.core.tasks import CONTEXT_HEADER, TenantRequired, _enter_context, _leave_context, _publish_context
from shared_apps.workspaces.services import workspace_create
from shared_apps.workspaces.tasks import workspace_welcome
from tenant_apps.audit.models import AuditEntry
from tenant_apps.projects.models import Project
from tenant_apps.projects.services import WELCOME_PROJECT_NAME
from tenants.db import connection
from tenants.models import Domain, Tenant
from tests.helpers import database_url_for_tests, subprocess_env


def test_a_task_enqueued_in_a_tenant_runs_in_that_schema(tenant: Tenant, other_tenant: Tenant, in_tenant) -> None:
    with in_tenant(tenant):
        result = workspace_welcome.delay(owner_email="owner@acme.test").get()

    assert result["schema"] == tenant.schema_name
    with in_tenant(tenant):
        assert Project.objects.filter(name=WELCOME_PROJECT_NAME).count() == 1
    with in_tenant(other_tenant):
        assert Project.objects.count() == 0
    assert mail.outbox[-1].subject == "Welcome to Acme Inc on Atrium"
    assert mail.outbox[-1].to == ["owner@acme.test"]
    assert "http://acme.localhost" in mail.outbox[-1].body


def test_the_welcome_email_has_html_and_text(tenant: Tenant, in_tenant) -> None:
    with in_tenant(tenant):
        workspace_welcome.delay(owner_email="owner@acme.test")

    message = mail.outbox[-1]
    assert isinstance(message, EmailMultiAlternatives)
    assert message.alternatives
    assert message.alternatives[0][1] == "text/html"
    assert "Acme Inc" in str(message.alternatives[0][0])


@pytest.mark.usefixtures("tenant")
def test_a_tenant_task_without_a_tenant_is_refused() -> None:
    connection.set_schema_to_public()

    with pytest.raises(TenantRequired):
        workspace_welcome.delay(owner_email="owner@acme.test")

    assert mail.outbox == []


@pytest.fixture
def committed_cleanup(_session_tenants: dict[str, Tenant]) -> Iterator[None]:
    """Removes what a real worker committed in the session tenants, after the test's own transaction is gone."""
    yield
    with psycopg.connect(database_url_for_tests(), autocommit=True) as conn:
        for t in _session_tenants.values():
            # CASCADE: the grant tables, tasks, comments and documents reference projects
            conn.execute(f'TRUNCATE "{t.schema_name}".projects_project, "{t.schema_name}".audit_auditentry CASCADE')
        conn.execute("DELETE FROM public.core_taskeffect")  # the welcome email the worker recorded as sent


@pytest.mark.redis
@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL: runs a real Celery worker over Redis")
def test_a_real_worker_runs_the_task_in_the_enqueuing_tenants_schema(
    committed_cleanup: None, tenant: Tenant, other_tenant: Tenant, in_tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue = f"test-{uuid.uuid4().hex[:8]}"
    celery = shutil.which("celery", path=os.path.dirname(sys.executable))
    worker = subprocess.Popen(
        [
            celery or "celery",
            "-A",
            "config",
            "worker",
            "-P",
            "solo",
            "-Q",
            queue,
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
            "-l",
            "WARNING",
        ],
        env=subprocess_env(REDIS_URL=os.environ["REDIS_URL"]),
        cwd=settings.BASE_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    monkeypatch.setitem(celery_app.conf, "task_always_eager", False)
    try:
        with in_tenant(tenant), bound(RequestContext(request_id="req-w", ip="198.51.100.7", user_agent="Signup/1")):
            async_result = workspace_welcome.apply_async(kwargs={"owner_email": "owner@acme.test"}, queue=queue)
        result = async_result.get(timeout=60)
    finally:
        worker.terminate()
        output, _ = worker.communicate(timeout=30)

    assert result["schema"] == tenant.schema_name, output
    with in_tenant(tenant):  # committed by the worker's own connection, visible here
        assert Project.objects.filter(name=WELCOME_PROJECT_NAME).exists()
        entry = AuditEntry.objects.get(action="project.created")
    assert (entry.ip_address, entry.user_agent) == ("198.51.100.7", "Signup/1")  # the enqueuing request's context
    with in_tenant(other_tenant):
        assert not Project.objects.exists()


def test_the_request_context_travels_in_the_message_headers() -> None:
    """What a worker sees: the publishing side writes the context into the headers, the worker side binds it around
    the task and lets go after."""

    headers: dict[str, object] = {}
    with bound(RequestContext(request_id="req-1", ip="192.0.2.4", user_agent="Browser/2")):
        _publish_context(headers=headers)
    assert current() == RequestContext()

    task = SimpleNamespace(request=SimpleNamespace(is_eager=False, headers={CONTEXT_HEADER: headers[CONTEXT_HEADER]}))
    _enter_context(task_id="t-1", task=task)
    try:
        assert current() == RequestContext(request_id="req-1", ip="192.0.2.4", user_agent="Browser/2")
    finally:
        _leave_context(task_id="t-1")
    assert current() == RequestContext()


@pytest.mark.usefixtures("tenant")
def test_the_welcome_runs_when_a_workspace_is_created_outside_a_request(monkeypatch: pytest.MonkeyPatch) -> None:
    """`manage.py tenant create` and the demo seed: the task runs in-process under schema_context, where
    connection.tenant is only a stand-in for the schema."""

    monkeypatch.setattr("django.db.transaction.on_commit", lambda fn, using=None, robust=False: fn())
    tenant, _ = workspace_create(slug="welcomed", name="Welcomed", owner_email="w@welcomed.test")

    assert Domain.objects.filter(domain="welcomed.localhost").exists()
    assert mail.outbox[-1].subject == "Welcome to Welcomed on Atrium"
    with tenant_context(tenant):
        assert Project.objects.filter(name=WELCOME_PROJECT_NAME).exists()


def test_the_welcome_project_is_named_in_its_owners_language_and_made_once(
    tenant: Tenant, owner: User, in_tenant: Any
) -> None:
    User.objects.filter(pk=owner.pk).update(language="de")
    with in_tenant(tenant):
        workspace_welcome.delay(owner_email=owner.email).get()
        User.objects.filter(pk=owner.pk).update(language="es")
        workspace_welcome.delay(owner_email=owner.email).get()  # run again, in another language: still one

        names = list(Project.objects.values_list("name", "description"))
    assert names == [
        (
            "Erste Schritte",
            "Ihr erstes Projekt. Laden Sie Ihr Team unter Einstellungen → Mitglieder ein und legen Sie dann Projekte "
            "für die Arbeit an, die Sie verfolgen.",
        )
    ]
