"""The workspaces admin: a list read from the metrics table, search and filters, a workspace's page, and actions
that each take a reason and land in the operator log and the workspace's audit log."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.models import BillingAccount, SubscriptionStatus
from shared_apps.accounts.models import Role, User
from shared_apps.workspaces.models import OperatorLogEntry, WorkspaceMetrics
from shared_apps.workspaces.services import ReasonRequired, workspace_suspend
from tenant_apps.audit.models import AuditEntry
from tenants.models import Domain, Tenant, TenantStatus, new_schema_name
from tests.billing.helpers import start_trial
from tests.factories import MembershipFactory
from tests.helpers import operator_create

LIST = "/admin/tenants/tenant/"


@pytest.fixture
def operator(db: None) -> User:
    return operator_create("ops@atrium.test", superuser=True)


@pytest.fixture
def ops_client(public_client: Client, operator: User) -> Client:
    public_client.force_login(operator)
    return public_client


def _bulk_workspaces(count: int, *, prefix: str) -> list[Tenant]:
    """Workspace rows with hosts, owners and metrics, without schemas: the list never reads a schema."""
    tenants = Tenant.objects.bulk_create(
        [Tenant(schema_name=new_schema_name(), name=f"{prefix} {i}", status=TenantStatus.ACTIVE) for i in range(count)]
    )
    Domain.objects.bulk_create(
        [Domain(tenant=t, domain=f"{prefix.lower()}{i}.localhost", is_primary=True) for i, t in enumerate(tenants)]
    )
    for t in tenants:
        MembershipFactory.create(tenant=t, role=Role.OWNER)
    WorkspaceMetrics.objects.bulk_create(
        [
            WorkspaceMetrics(tenant=t, members=1, plan="pro", mrr_cents=1200, refreshed_at=timezone.now())
            for t in tenants
        ]
    )
    return tenants


def _act(client: Client, tenant: Tenant, action: str, **data: Any) -> Any:
    return client.post(LIST, {"action": action, "_selected_action": [str(tenant.pk)], **data}, follow=True)


def test_the_list_costs_the_same_queries_at_2_and_at_52_workspaces(ops_client: Client, tenant: Tenant) -> None:
    _bulk_workspaces(2, prefix="Few")
    ops_client.get(LIST)
    with CaptureQueriesContext(connection) as few:
        listing = ops_client.get(LIST)
    _bulk_workspaces(50, prefix="Many")
    with CaptureQueriesContext(connection) as many:
        longer = ops_client.get(LIST + "?q=a&plan=pro&activity=dormant&o=-6")

    assert listing.status_code == longer.status_code == 200
    assert len(many) <= len(few) + 1  # +1: a filtered list also counts the whole list
    with CaptureQueriesContext(connection) as again:
        ops_client.get(LIST)
    assert len(again) == len(few)


def test_the_list_shows_metrics_columns(ops_client: Client, tenant: Tenant, owner: User) -> None:
    WorkspaceMetrics.objects.create(
        tenant=tenant,
        members=7,
        plan="business",
        subscription_status="active",
        mrr_cents=16_800,
        database_bytes=3 * 1024**2,
        last_activity_at=timezone.now(),
        refreshed_at=timezone.now(),
    )
    BillingAccount.objects.filter(tenant=tenant).delete()
    BillingAccount.objects.create(
        tenant=tenant, plan="business", interval="month", status="active", seats_paid=7, card_last4="4242"
    )

    text = ops_client.get(LIST).content.decode()

    assert "acme.localhost" in text
    assert "Business" in text
    assert "$168" in text
    assert "3 MB db · files not reported" in text
    assert "not refreshed yet" in text  # globex has no metrics row yet


def test_a_paying_workspace_shows_its_plan_and_mrr_before_any_metrics_refresh(
    ops_client: Client, tenant: Tenant
) -> None:
    WorkspaceMetrics.objects.filter(tenant=tenant).delete()
    BillingAccount.objects.filter(tenant=tenant).delete()
    BillingAccount.objects.create(
        tenant=tenant, plan="pro", interval="month", status=SubscriptionStatus.ACTIVE, seats_paid=2, card_last4="4242"
    )

    text = ops_client.get(LIST, {"q": "Acme"}).content.decode()

    row = text.split("acme.localhost", 1)[1].split("</tr>", 1)[0]
    assert ">Pro<" in row
    assert ">$24<" in row


def test_the_list_counts_workspaces_not_tenants(ops_client: Client, tenant: Tenant) -> None:
    text = ops_client.get(LIST, {"q": "Acme"}).content.decode()

    assert "1 workspace" in text
    assert "1 tenant" not in text


@pytest.mark.parametrize("term", ["Acme", "acme.localh", "owner@acme"])
def test_search_by_name_domain_or_owner_email(ops_client: Client, tenant: Tenant, owner: User, term: str) -> None:
    text = ops_client.get(LIST, {"q": term}).content.decode()

    assert "Acme Inc" in text
    assert "Globex Corporation" not in text


def test_searching_a_members_email_does_not_find_the_workspace(ops_client: Client, member: User) -> None:
    assert "Acme Inc" not in ops_client.get(LIST, {"q": "member@acme"}).content.decode()


@pytest.mark.parametrize("term", ["\x00", "a\x00b", "x" * 5000, "'; DROP TABLE tenants_tenant; --"])
def test_hostile_search_is_not_a_500(ops_client: Client, term: str) -> None:
    assert ops_client.get(LIST, {"q": term}).status_code == 200


def test_filters_by_plan_and_activity(ops_client: Client, tenant: Tenant, other_tenant: Tenant) -> None:
    now = timezone.now()
    WorkspaceMetrics.objects.create(tenant=tenant, plan="pro", last_activity_at=now, refreshed_at=now)
    WorkspaceMetrics.objects.create(
        tenant=other_tenant, plan="free", last_activity_at=now - timedelta(days=90), refreshed_at=now
    )
    BillingAccount.objects.filter(tenant__in=[tenant, other_tenant]).delete()
    BillingAccount.objects.create(tenant=tenant, plan="pro", interval="month", status="active", seats_paid=1)
    BillingAccount.objects.create(tenant=other_tenant, plan="free", status="active")

    pro = ops_client.get(LIST, {"plan": "pro"}).content.decode()
    dormant = ops_client.get(LIST, {"activity": "dormant"}).content.decode()

    assert "Acme Inc" in pro
    assert "Globex Corporation" not in pro
    assert "Globex Corporation" in dormant
    assert "Acme Inc" not in dormant


def test_a_workspaces_page_shows_domains_members_subscription_and_recent_audit(
    ops_client: Client, tenant: Tenant, owner: User, member: User
) -> None:

    TOTP.activate(owner, generate_totp_secret())
    BillingAccount.objects.create(
        tenant=tenant, plan="pro", interval="month", status=SubscriptionStatus.TRIALING, seats_paid=2
    )

    workspace_suspend(tenant=tenant, acting_user=User.objects.get(email="ops@atrium.test"), reason="Spam reports")

    page = ops_client.get(f"{LIST}{tenant.pk}/change/")
    text = page.content.decode()

    assert page.status_code == 200
    assert "acme.localhost" in text
    assert "owner@acme.test" in text
    assert "member@acme.test" in text
    assert "Sign in as…" in text
    assert "Trial" in text  # the subscription
    assert "Workspace suspended" in text
    assert "Spam reports" in text
    assert "Resume…" in text
    assert "Extend trial…" in text


def test_suspend_with_a_reason_lands_in_both_logs(
    ops_client: Client, operator: User, tenant: Tenant, in_tenant: Any
) -> None:
    done = _act(ops_client, tenant, "suspend_selected", apply="1", reason="Chargeback investigation")

    assert "Suspended 1 workspace." in done.content.decode()
    log = OperatorLogEntry.objects.get(tenant_id=tenant.pk)
    assert (log.operator_id, log.action, log.reason) == (operator.pk, "workspace.suspended", "Chargeback investigation")
    with in_tenant(tenant):
        entry = AuditEntry.objects.get(action="tenant.suspended")
    assert entry.actor_id == operator.pk
    assert entry.metadata["reason"] == "Chargeback investigation"
    assert entry.metadata["operator"] is True


@pytest.mark.parametrize("reason", ["", "   ", "line\nbreak", "x" * 501])
def test_an_action_without_a_usable_reason_changes_nothing(ops_client: Client, tenant: Tenant, reason: str) -> None:
    page = _act(ops_client, tenant, "suspend_selected", apply="1", reason=reason)

    assert page.status_code == 200
    assert "errornote" in page.content.decode()
    assert Tenant.objects.get(pk=tenant.pk).status == "active"
    assert not OperatorLogEntry.objects.exists()


def test_the_services_refuse_an_operator_without_a_reason(operator: User, tenant: Tenant) -> None:

    with pytest.raises(ReasonRequired):
        workspace_suspend(tenant=tenant, acting_user=operator, reason="")
    workspace_suspend(tenant=tenant, acting_user=None)  # the command line and tasks need none


def test_resume_schedule_deletion_and_restore_each_take_a_reason(
    ops_client: Client, tenant: Tenant, in_tenant: Any
) -> None:
    _act(ops_client, tenant, "suspend_selected", apply="1", reason="one")
    _act(ops_client, tenant, "resume_selected", apply="1", reason="two")
    _act(ops_client, tenant, "schedule_deletion_selected", apply="1", reason="three")
    _act(ops_client, tenant, "restore_selected", apply="1", reason="four")

    actions = list(OperatorLogEntry.objects.order_by("created_at", "id").values_list("action", "reason"))
    assert actions == [
        ("workspace.suspended", "one"),
        ("workspace.resumed", "two"),
        ("workspace.deletion_scheduled", "three"),
        ("workspace.restored", "four"),
    ]
    with in_tenant(tenant):
        reasons = list(
            AuditEntry.objects.filter(action__startswith="tenant.")
            .exclude(action="tenant.created")
            .order_by("created_at", "id")
            .values_list("metadata__reason", flat=True)
        )
    assert reasons == ["one", "two", "three", "four"]


def test_actions_from_a_workspaces_page_return_to_it(ops_client: Client, tenant: Tenant) -> None:
    asked = ops_client.post(LIST, {"action": "suspend_selected", "_selected_action": [tenant.pk], "_from_detail": "1"})
    done = ops_client.post(
        LIST,
        {
            "action": "suspend_selected",
            "_selected_action": [tenant.pk],
            "_from_detail": "1",
            "apply": "1",
            "reason": "From its page",
        },
    )

    assert 'name="_from_detail"' in asked.content.decode()
    assert done.status_code == 302
    assert done["Location"] == f"{LIST}{tenant.pk}/change/"


def test_export_writes_an_archive_to_download(
    ops_client: Client, operator: User, tenant: Tenant, settings: Any, tmp_path: Any
) -> None:
    settings.TENANT_EXPORT_DIR = str(tmp_path)

    done = _act(ops_client, tenant, "export_selected", apply="1", reason="Customer asked for their data")
    log = OperatorLogEntry.objects.get(action="workspace.exported")
    name = log.metadata["archive"]
    download = ops_client.get(f"/admin/workspaces/exports/{name}/")

    assert "download" in done.content.decode()
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    content = b"".join(download.streaming_content)  # type: ignore[attr-defined]
    assert content[:2] == b"\x1f\x8b"  # gzip
    for bad in ("..%2F..%2Fetc%2Fpasswd", "nope.tar.gz", "x.txt"):
        assert ops_client.get(f"/admin/workspaces/exports/{bad}/").status_code == 404


def test_extend_trial_and_change_plan_through_billing(
    ops_client: Client,
    operator: User,
    tenant: Tenant,
    owner: User,
    in_tenant: Any,
    local_stripe: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:

    account = start_trial(tenant, local_stripe, django_capture_on_commit_callbacks)
    before = account.trial_end
    assert before is not None

    _act(ops_client, tenant, "extend_trial", apply="1", days="10", reason="Onboarding took longer")
    _act(ops_client, tenant, "change_plan", apply="1", plan="business", interval="month", reason="Sales deal")

    account.refresh_from_db()
    assert account.trial_end is not None
    assert account.trial_end - before >= timedelta(days=9, hours=23)
    assert (account.plan, account.status) == ("business", SubscriptionStatus.TRIALING)
    assert set(OperatorLogEntry.objects.values_list("action", flat=True)) == {
        "workspace.trial_extended",
        "workspace.plan_changed",
    }
    with in_tenant(tenant):
        extended = AuditEntry.objects.get(action="billing.trial_extended")
        changed = AuditEntry.objects.get(action="billing.plan_set")
    assert (extended.actor_id, extended.metadata["days"], extended.metadata["reason"]) == (
        operator.pk,
        10,
        "Onboarding took longer",
    )
    assert (changed.metadata["from"], changed.metadata["to"]) == ("pro", "business")


def test_extending_a_workspace_not_in_trial_is_refused_with_a_message(ops_client: Client, tenant: Tenant) -> None:
    page = _act(ops_client, tenant, "extend_trial", apply="1", days="5", reason="Why not")

    assert "is not in a trial" in page.content.decode()
    assert not OperatorLogEntry.objects.exists()
