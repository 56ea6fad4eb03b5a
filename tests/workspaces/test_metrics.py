"""The metrics refresh: every workspace's figures gathered in bulk, through the one cross-schema door."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.models import BillingAccount, SubscriptionStatus
from shared_apps.accounts.models import User
from shared_apps.accounts.services import api_key_create
from shared_apps.core.context import RequestContext, bound
from shared_apps.storage.accounting import add_stored
from shared_apps.workspaces.metrics import metrics_refresh
from shared_apps.workspaces.models import PlatformDay, WorkspaceDay, WorkspaceMetrics
from shared_apps.workspaces.services import workspace_suspend
from shared_apps.workspaces.tasks import metrics_refresh as task
from tenant_apps.audit.actions import AuditAction
from tenant_apps.audit.services import audit_record
from tenants import provisioning
from tenants.cross_schema import dangerously_all_tenants
from tenants.models import Tenant, TenantStatus
from tests.conftest import HostClient, host_of
from tests.factories import ProjectFactory, TaskFactory
from tests.helpers import in_own_connection


def _backdate(tenant: Tenant, in_tenant: Any, action: AuditAction, *, days_ago: int, actor: User | None) -> None:
    entry = audit_record(tenant=tenant, action=action, actor=actor)
    with connection.cursor() as cursor:  # the log is append-only in the ORM: backdate with SQL
        cursor.execute(
            f'UPDATE "{tenant.schema_name}".audit_auditentry SET created_at = %s WHERE id = %s',  # noqa: S608
            [timezone.now() - timedelta(days=days_ago), entry.pk],
        )


def test_the_refresh_gathers_each_workspaces_figures(
    tenant: Tenant, other_tenant: Tenant, owner: User, member: User, in_tenant: Any
) -> None:
    with in_tenant(tenant):
        project = ProjectFactory.create()
        TaskFactory.create_batch(3, project=project)
        ProjectFactory.create()
    BillingAccount.objects.create(
        tenant=tenant, plan="pro", interval="month", status=SubscriptionStatus.ACTIVE, seats_paid=4, card_last4="4242"
    )
    _backdate(tenant, in_tenant, AuditAction.PROJECT_CREATED, days_ago=3, actor=member)
    _backdate(tenant, in_tenant, AuditAction.TASK_CREATED, days_ago=3, actor=owner)
    _backdate(tenant, in_tenant, AuditAction.AUTH_LOGIN, days_ago=1, actor=owner)

    result = metrics_refresh()

    acme = WorkspaceMetrics.objects.get(tenant=tenant)
    assert (acme.members, acme.projects, acme.tasks) == (2, 2, 3)
    assert (acme.plan, acme.subscription_status, acme.mrr_cents) == ("pro", "active", 4 * 1200)
    assert acme.database_bytes > 0
    assert (acme.storage_bytes, acme.api_calls_30d) == (0, 0)  # read, and none
    assert acme.last_activity_at is not None
    assert timezone.now() - acme.last_activity_at < timedelta(days=1, minutes=5)
    globex = WorkspaceMetrics.objects.get(tenant=other_tenant)
    assert (globex.members, globex.projects, globex.mrr_cents, globex.last_activity_at) == (0, 0, 0, None)
    days = dict(WorkspaceDay.objects.filter(tenant_id=tenant.pk).values_list("day", "events"))
    today = timezone.now().astimezone(UTC).date()
    assert days[today - timedelta(days=3)] == 2
    assert days[today - timedelta(days=1)] == 1
    assert not WorkspaceDay.objects.filter(tenant_id=other_tenant.pk).exists()
    platform = PlatformDay.objects.get(day=today)
    assert platform.workspaces == result.workspaces >= 2
    assert platform.storage_bytes == 0
    assert result.failed == []


def test_operators_and_impersonations_are_not_the_workspaces_activity(
    tenant: Tenant, owner: User, in_tenant: Any
) -> None:
    operator = User.objects.create_superuser(email="ops@atrium.test", password="operator-password-123")

    workspace_suspend(tenant=tenant, acting_user=operator, reason="Checking the metrics")
    with bound(RequestContext(impersonator="ops@atrium.test")):
        audit_record(tenant=tenant, action=AuditAction.PROJECT_CREATED, actor=owner)  # written while impersonating
    audit_record(tenant=tenant, action=AuditAction.BILLING_TRIAL_STARTED, actor=None)  # the platform itself

    metrics_refresh()

    assert WorkspaceMetrics.objects.get(tenant=tenant).last_activity_at is None
    assert not WorkspaceDay.objects.filter(tenant_id=tenant.pk).exists()


def test_file_bytes_and_api_calls_come_from_storages_accounting_and_the_apis_own_counts(
    tenant: Tenant, other_tenant: Tenant, owner: User
) -> None:
    """Through the real paths: bytes accounted to the workspace's prefix (as a confirmed upload does), and requests
    served by the API with a key (counted per workspace per day by the rate limiter's atomic step)."""

    add_stored(tenant.schema_name, nbytes=5_000, objects=2)
    _key, secret = api_key_create(tenant=tenant, name="Metrics", scope="read", acting_user=owner)
    api = HostClient(host_of(tenant), HTTP_AUTHORIZATION=f"Bearer {secret}")
    answers = [api.get("/api/v1/projects/").status_code for _ in range(7)]
    stranger = HostClient(host_of(other_tenant), HTTP_AUTHORIZATION=f"Bearer {secret}").get("/api/v1/projects/")

    metrics_refresh()

    assert answers == [200] * 7
    assert stranger.status_code == 401  # refused: not a call globex served
    acme, globex = WorkspaceMetrics.objects.get(tenant=tenant), WorkspaceMetrics.objects.get(tenant=other_tenant)
    assert (acme.storage_bytes, acme.api_calls_30d) == (5_000, 7)
    assert (globex.storage_bytes, globex.api_calls_30d) == (0, 0)
    today = timezone.now().astimezone(UTC).date()
    assert WorkspaceDay.objects.get(tenant_id=tenant.pk, day=today).api_calls == 7
    assert (PlatformDay.objects.get(day=today).storage_bytes or 0) >= 5_000


def test_the_refresh_costs_the_same_statements_for_more_workspaces(tenant: Tenant, settings: Any) -> None:

    settings.METRICS_BATCH_SIZE = 200
    metrics_refresh(full=True)  # the first refresh creates today's platform row; later ones update it
    with CaptureQueriesContext(connection) as few:
        metrics_refresh(full=True)
    for _ in range(4):
        provisioning.tenant_with_schema(name="More", status=TenantStatus.ACTIVE, method=provisioning.Method.FAST)
    with CaptureQueriesContext(connection) as many:
        metrics_refresh(full=True)

    assert len(many) == len(few)
    unions = [q for q in many.captured_queries if "UNION ALL" in q["sql"]]
    assert len(unions) == 2  # counts, and activity per day: one statement each for every schema


def test_a_broken_schema_is_reported_and_the_others_still_counted(tenant: Tenant, other_tenant: Tenant) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f'ALTER TABLE "{other_tenant.schema_name}".projects_task RENAME TO projects_task_gone')

    result = metrics_refresh()

    assert result.failed == [other_tenant.schema_name]
    assert WorkspaceMetrics.objects.filter(tenant=tenant).exists()


def test_dangerously_all_tenants_reads_each_schema_and_refuses_a_select_without_schemas(
    tenant: Tenant, other_tenant: Tenant, in_tenant: Any
) -> None:
    with in_tenant(tenant):
        ProjectFactory.create_batch(2)

    result = dangerously_all_tenants("SELECT count(*) FROM {schema}.projects_project", batch_size=1)
    counts = dict(result.rows)

    assert counts[tenant.pk] == 2
    assert counts[other_tenant.pk] == 0
    assert result.statements == result.schemas
    with pytest.raises(ValueError, match=r"\{schema\}"):
        dangerously_all_tenants("SELECT count(*) FROM projects_project")


def test_dangerously_all_tenants_is_called_only_by_the_metrics_refresh_and_the_beats_sweeps() -> None:
    """The one door across schemas has four users, none of them a request: the metrics refresh, and the beat's sweeps
    for events not yet dispatched, webhook retries that are due and workspaces with a daily email to send."""
    root = Path(settings.BASE_DIR)
    callers = set()
    for package in ("config", "tenants", "shared_apps", "tenant_apps", "billing"):
        for path in (root / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "dangerously_all_tenants":
                    callers.add(str(path.relative_to(root)))
    assert callers == {
        "shared_apps/workspaces/metrics.py",
        "tenant_apps/audit/dispatch.py",
        "tenant_apps/notifications/daily.py",
        "tenant_apps/webhooks/sending.py",
    }


def test_only_one_refresh_runs_at_a_time(tenant: Tenant) -> None:

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [0x41545249554D])
    try:
        skipped = in_own_connection(lambda: metrics_refresh().skipped)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [0x41545249554D])
    assert skipped is True


def test_the_command_and_the_task_refresh_and_say_so(tenant: Tenant, capsys: Any) -> None:

    call_command("tenant", "metrics")
    out = capsys.readouterr().out
    outcome: dict[str, Any] = task.delay().get()

    assert "Refreshed the metrics of" in out
    assert outcome["workspaces"] >= 2
    assert outcome["failed"] == []
    assert WorkspaceMetrics.objects.filter(tenant=tenant).exists()


def test_the_beat_schedule_runs_the_refresh() -> None:
    schedule = settings.CELERY_BEAT_SCHEDULE["workspaces-metrics-refresh"]
    assert schedule["task"] == "workspaces.metrics_refresh"
    assert schedule["schedule"] == float(settings.METRICS_REFRESH_SECONDS)


def test_a_purged_workspace_keeps_its_past_activity(tenant: Tenant) -> None:
    WorkspaceDay.objects.create(tenant_id=987654, day=datetime(2026, 1, 5, tzinfo=UTC).date(), events=3)

    metrics_refresh()

    assert WorkspaceDay.objects.filter(tenant_id=987654).exists()
