"""The dashboard: figures against a seeded platform history, a fixed number of queries, the date range."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.models import BillingAccount, SubscriptionChange, SubscriptionStatus
from shared_apps.accounts.models import Membership, User
from shared_apps.operators.dashboard import Period, dashboard_build, period_from
from shared_apps.workspaces.models import PlatformDay, WorkspaceDay, WorkspaceMetrics
from tenants.models import Tenant
from tenants.selectors import workspaces
from tests.factories import MembershipFactory, UserFactory
from tests.helpers import operator_create

GONE = 999_999  # a workspace purged since: its history still counts


def _day(days_ago: int) -> date:
    return timezone.now().astimezone(UTC).date() - timedelta(days=days_ago)


def _at(days_ago: int) -> datetime:
    return datetime.combine(_day(days_ago), time(12), tzinfo=UTC)


@pytest.fixture
def history(tenant: Tenant, other_tenant: Tenant) -> dict[str, Any]:
    """A platform with a known past. The last 30 days against the 30 before:
    sign-ups 3 vs 1; new workspaces 1 (globex) vs 1 (acme); members 3 vs 1, new members 2 vs 1;
    active workspaces 7 days 2 vs 0, 30 days 2 vs 1; MRR $36 vs $12; paying 1 vs 1; trials 1 vs 1;
    trials started 1 vs 1; conversions 1 vs 1 (100% of trials ended); churned MRR $12 vs $0; database 5 MB vs 4 MB."""
    # Only this history: whatever else the database holds is set aside (inside the test's transaction, rolled back).
    for model in (SubscriptionChange, WorkspaceDay, PlatformDay, WorkspaceMetrics, BillingAccount, Membership):
        model.objects.all().delete()
    User.objects.update(date_joined=_at(400))
    workspaces().exclude(pk__in=[tenant.pk, other_tenant.pk]).update(created_at=_at(400))
    Tenant.objects.filter(pk=tenant.pk).update(created_at=_at(40))
    Tenant.objects.filter(pk=other_tenant.pk).update(created_at=_at(2))
    for days_ago in (1, 5, 10, 40, 100):
        user = UserFactory.create()
        User.objects.filter(pk=user.pk).update(date_joined=_at(days_ago))
    for days_ago in (3, 8, 35):
        membership = MembershipFactory.create(tenant=tenant)
        Membership.objects.filter(pk=membership.pk).update(created_at=_at(days_ago))
        User.objects.filter(pk=membership.user_id).update(date_joined=_at(400))
    WorkspaceDay.objects.bulk_create(
        [
            WorkspaceDay(tenant_id=tenant.pk, day=_day(2), events=4),
            WorkspaceDay(tenant_id=tenant.pk, day=_day(20), events=1),
            WorkspaceDay(tenant_id=GONE, day=_day(3), events=2),
            WorkspaceDay(tenant_id=other_tenant.pk, day=_day(35), events=1),
            WorkspaceDay(tenant_id=other_tenant.pk, day=_day(50), events=1),
        ]
    )
    ledger = [
        (tenant.pk, 40, "none", "trialing", 0, 0),
        (tenant.pk, 26, "trialing", "active", 0, 2400),
        (tenant.pk, 3, "active", "active", 2400, 3600),
        (other_tenant.pk, 10, "none", "trialing", 0, 0),
        (GONE, 45, "trialing", "active", 0, 1200),
        (GONE, 5, "active", "canceled", 1200, 0),
    ]
    SubscriptionChange.objects.bulk_create(
        [
            SubscriptionChange(tenant_id=t, at=_at(d), from_status=f, to_status=to, mrr_before=b, mrr_after=a)
            for t, d, f, to, b, a in ledger
        ]
    )
    BillingAccount.objects.create(
        tenant=tenant, plan="pro", interval="month", status=SubscriptionStatus.ACTIVE, seats_paid=3, card_last4="4242"
    )
    BillingAccount.objects.create(
        tenant=other_tenant,
        plan="pro",
        interval="month",
        status=SubscriptionStatus.TRIALING,
        seats_paid=1,
        trial_end=timezone.now() + timedelta(days=2, hours=1),
    )
    now = timezone.now()
    WorkspaceMetrics.objects.create(tenant=tenant, mrr_cents=3600, last_activity_at=_at(2), refreshed_at=now)
    PlatformDay.objects.create(day=_day(0), workspaces=2, members=3, database_bytes=5 * 1024**2, refreshed_at=now)
    PlatformDay.objects.create(day=_day(30), workspaces=2, members=1, database_bytes=4 * 1024**2, refreshed_at=now)
    return {"tenant": tenant, "other": other_tenant}


def _figures(board: Any) -> dict[str, Any]:
    return {f.label: f for _group, figures in board.groups for f in figures}


def test_the_figures_match_the_seeded_history(history: dict[str, Any]) -> None:
    board = dashboard_build(Period(_day(29), _day(0), "30"))
    f = _figures(board)

    def pair(label: str) -> tuple[Any, Any]:
        return f[label].value, f[label].previous

    assert pair("Sign-ups (new accounts)") == (3, 1)
    assert pair("New workspaces") == (1, 1)
    assert pair("Members") == (3, 1)
    assert pair("New members") == (2, 1)
    assert pair("Active workspaces, 7 days") == (2, 0)
    assert pair("Active workspaces, 30 days") == (2, 1)
    assert pair("MRR") == (3600, 1200)
    assert f["MRR"].shown == "$36"
    assert f["MRR"].change == "+200%"
    assert f["MRR"].trend == "good"
    assert pair("Paying workspaces") == (1, 1)
    assert pair("Trials in progress") == (1, 1)
    assert pair("Trials started") == (1, 1)
    assert pair("Conversions") == (1, 1)
    assert f["Conversions"].note == "100% of the 1 trial that ended"
    assert pair("Churned MRR") == (1200, 0)
    assert f["Churned MRR"].trend == "bad"
    assert "100.0% of the MRR at the start" in f["Churned MRR"].note
    assert pair("Database") == (5 * 1024**2, 4 * 1024**2)
    assert pair("Files") == (None, None)  # the seeded days were written before files were read
    assert f["Files"].note == "after the first metrics refresh"
    assert pair("API calls") == (None, None)
    assert "none counted yet" in f["API calls"].note
    assert [a.tenant.pk for a in board.attention] == [history["other"].pk]
    assert board.attention[0].reasons == ["trial ends in 2 days"]


def test_the_charts_carry_the_same_numbers(history: dict[str, Any]) -> None:
    board = dashboard_build(Period(_day(29), _day(0), "30"))
    charts = {c.title: c for c in board.charts}

    chart = charts["Sign-ups per day"]
    signups = dict(zip([b.start for b in chart.buckets], chart.series[0][1], strict=True))
    mrr = charts["MRR"].series[0][1]

    assert signups[_day(5)] == 1
    assert signups[_day(6)] == 0
    assert mrr[0] == 1200
    assert mrr[-1] == 3600
    assert "<svg" in charts["MRR"].svg
    assert 'role="img"' in charts["MRR"].svg
    assert charts["MRR"].rows[-1] == (charts["MRR"].buckets[-1].label, ["$36"])


def test_a_long_range_is_drawn_in_weeks(history: dict[str, Any]) -> None:
    board = dashboard_build(Period(_day(364), _day(0), "365"))

    assert len(board.charts[0].buckets) == 53


def test_the_dashboard_costs_a_fixed_number_of_queries(history: dict[str, Any], tenant: Tenant) -> None:
    period = Period(_day(29), _day(0), "30")
    with CaptureQueriesContext(connection) as few:
        dashboard_build(period)
    for days_ago in range(60):
        UserFactory.create()
        WorkspaceDay.objects.create(tenant_id=10_000 + days_ago, day=_day(days_ago), events=1, api_calls=5)
        SubscriptionChange.objects.create(tenant_id=10_000 + days_ago, at=_at(days_ago), to_status="trialing")
    with CaptureQueriesContext(connection) as many:
        board = dashboard_build(period)

    assert len(few) == len(many) == 11
    assert _figures(board)["API calls"].value == 150  # reported now: 5 a day over 30 days


def test_the_page_shows_the_dashboard_to_operators_who_may_view_workspaces(
    history: dict[str, Any], public_client: Client
) -> None:
    viewer = operator_create("viewer@atrium.test", "tenants.view_tenant")
    public_client.force_login(viewer)

    page = public_client.get("/admin/?range=30")
    text = page.content.decode()

    assert page.status_code == 200
    assert "How the platform is doing" in text
    assert "Needs attention" in text
    assert "Globex Corporation" in text
    assert "$36" in text
    assert "+200%" in text
    assert "Refresh metrics now" not in text  # view-only: nothing to change


def test_the_page_costs_the_same_queries_with_more_history(history: dict[str, Any], public_client: Client) -> None:
    public_client.force_login(operator_create("viewer@atrium.test", "tenants.view_tenant"))
    public_client.get("/admin/")
    with CaptureQueriesContext(connection) as few:
        public_client.get("/admin/")
    for days_ago in range(40):
        UserFactory.create()
        WorkspaceDay.objects.create(tenant_id=20_000 + days_ago, day=_day(days_ago), events=2)
    with CaptureQueriesContext(connection) as many:
        public_client.get("/admin/")

    assert len(many) == len(few)


def test_staff_without_the_view_permission_see_no_figures(history: dict[str, Any], public_client: Client) -> None:
    public_client.force_login(operator_create("nobody@atrium.test"))

    page = public_client.get("/admin/")

    assert page.status_code == 200
    assert "How the platform is doing" not in page.content.decode()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=2026-13-45", "YYYY-MM-DD"),
        ("from=20%0026-13-01&to=%00", "YYYY-MM-DD"),
        ("from=" + "9" * 5000, "YYYY-MM-DD"),
        ("from=2020-05-01&to=2020-04-01", "comes after its end"),
        ("from=2020-05-01&to=9999-12-31", "cannot end in the future"),
        ("from=0001-01-01&to=2001-01-01", "cannot start before"),
        ("from=2001-01-01&to=2010-01-01", "at most 731 days"),
    ],
)
def test_a_bad_range_falls_back_with_a_message_never_a_500(
    history: dict[str, Any], public_client: Client, query: str, message: str
) -> None:
    public_client.force_login(operator_create("viewer@atrium.test", "tenants.view_tenant"))

    page = public_client.get(f"/admin/?{query}")

    assert page.status_code == 200
    assert message in page.content.decode()


def test_a_custom_range_and_presets() -> None:
    today = date(2026, 3, 31)

    custom, error = period_from({"from": "2026-03-01", "to": "2026-03-10"}, today=today)
    preset, _ = period_from({"range": "7"}, today=today)
    odd, _ = period_from({"range": "13"}, today=today)

    assert error == ""
    assert (custom.start, custom.end, custom.days, custom.prev_start, custom.prev_end) == (
        date(2026, 3, 1),
        date(2026, 3, 10),
        10,
        date(2026, 2, 19),
        date(2026, 2, 28),
    )
    assert (preset.start, preset.end) == (date(2026, 3, 25), today)
    assert odd.days == 30
