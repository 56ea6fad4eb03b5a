"""The whole dashboard: every group's figures, the charts, the workspaces by state and those needing attention."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Count, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from billing.models import SubscriptionStatus
from shared_apps.operators.charts import Chart, Series, bar_chart, day_range, line_chart
from shared_apps.operators.dashboard.activity import Activity
from shared_apps.operators.dashboard.figures import Attention, Dashboard, money, per_day
from shared_apps.operators.dashboard.growth import Growth
from shared_apps.operators.dashboard.period import Period
from shared_apps.operators.dashboard.revenue import Revenue
from shared_apps.operators.dashboard.sizes import Sizes
from tenants.models import Domain, TenantStatus
from tenants.selectors import workspaces

TRIAL_ENDING_DAYS = 3
DORMANT_DAYS = 30
ATTENTION_ROWS = 10


def _charts(period: Period, growth: Growth, activity: Activity, revenue: Revenue) -> list[Chart]:
    days = day_range(period.start, period.end)
    mrr, trials, conversions = revenue.series(period, days)
    new_accounts = per_day([(d, n) for d, n in growth.signups if d >= period.start], days)
    new_workspaces = per_day([(d, n) for d, n in growth.created if d >= period.start], days)
    charts = [
        bar_chart(
            _("Sign-ups per day"),
            days,
            [
                Series(_("new accounts"), new_accounts, "chart__s1"),
                Series(_("new workspaces"), new_workspaces, "chart__s2"),
            ],
        ),
        line_chart(
            _("Active workspaces per day"),
            days,
            [Series(_("workspaces active"), per_day(activity.daily_active, days))],
        ),
        line_chart(_("MRR"), days, [Series(_("MRR"), mrr)], fmt=money),
        bar_chart(
            _("Trials and conversions"),
            days,
            [
                Series(_("trials started"), list(trials), "chart__s1"),
                Series(_("conversions"), list(conversions), "chart__s2"),
            ],
        ),
    ]
    if activity.api_reported:
        api_calls = [Series(_("API calls"), per_day(activity.api_daily, days))]
        charts.append(bar_chart(_("API calls per day"), days, api_calls))
    return charts


def dashboard_build(period: Period, *, now: datetime | None = None) -> Dashboard:
    """Every figure, chart and list of the dashboard for `period`. A fixed number of queries (11)."""
    now = now or timezone.now()
    growth, activity, revenue, sizes = (
        Growth.read(period),
        Activity.read(period),
        Revenue.read(period),
        Sizes.read(period),
    )
    board = Dashboard(period=period)
    if sizes.latest is not None:
        board.refreshed_at, board.refresh_seconds = sizes.latest.refreshed_at, sizes.latest.refresh_seconds
    board.storage_reported = sizes.storage_reported(period)
    board.api_reported = activity.api_reported
    board.groups = [
        (_("Growth"), growth.figures(period)),
        (_("Activity"), activity.figures(gathered=sizes.latest is not None)),
        (_("Revenue"), revenue.figures(period, now=now)),
        (_("Storage"), sizes.figures(period)),
    ]
    board.charts = _charts(period, growth, activity, revenue)
    # How many workspaces are in each state (1 query), and those that need someone to look at them (1 query).
    labels = dict(TenantStatus.choices)
    board.statuses = [
        (labels.get(status, status), n)
        for status, n in workspaces().values("status").annotate(n=Count("id")).order_by("-n").values_list("status", "n")
    ]
    board.attention = attention_list(now=now)
    return board


def attention_list(*, now: datetime, limit: int = ATTENTION_ROWS) -> list[Attention]:
    """Workspaces in trouble or about to be: payment overdue, suspended, scheduled for deletion, a trial ending in
    TRIAL_ENDING_DAYS days, or paying and quiet for DORMANT_DAYS days. One query."""
    trouble = [
        TenantStatus.PAST_DUE,
        TenantStatus.READ_ONLY,
        TenantStatus.BILLING_SUSPENDED,
        TenantStatus.SUSPENDED,
        TenantStatus.SCHEDULED_DELETION,
    ]
    ending = now + timedelta(days=TRIAL_ENDING_DAYS)
    dormant = now - timedelta(days=DORMANT_DAYS)
    host = Domain.objects.filter(tenant=OuterRef("pk"), is_primary=True).values("domain")[:1]
    rows = (
        workspaces()
        .filter(
            Q(status__in=trouble)
            | Q(billing_account__status=SubscriptionStatus.TRIALING, billing_account__trial_end__lte=ending)
            | Q(metrics__mrr_cents__gt=0, metrics__last_activity_at__lt=dormant)
            | Q(metrics__mrr_cents__gt=0, metrics__last_activity_at__isnull=True)
        )
        .select_related("metrics", "billing_account")
        .annotate(host=Subquery(host))
        .order_by("status_changed_at", "name")[: limit * 3]
    )
    found: list[Attention] = []
    for tenant in rows:
        reasons = []
        if tenant.status in trouble:
            reasons.append(str(TenantStatus(tenant.status).label))
        account = getattr(tenant, "billing_account", None)
        if (
            account
            and account.status == SubscriptionStatus.TRIALING
            and account.trial_end
            and account.trial_end <= ending
        ):
            left = max(0, (account.trial_end - now).days)
            reasons.append(
                _("trial ends today")
                if left == 0
                else ngettext("trial ends in %(days)d day", "trial ends in %(days)d days", left) % {"days": left}
            )
        metrics = getattr(tenant, "metrics", None)
        if metrics and metrics.mrr_cents > 0 and (not metrics.last_activity_at or metrics.last_activity_at < dormant):
            reasons.append(_("paying, no activity for %(days)d+ days") % {"days": DORMANT_DAYS})
        if reasons:
            found.append(Attention(tenant=tenant, host=str(getattr(tenant, "host", "") or ""), reasons=reasons))
    urgency = {TenantStatus.READ_ONLY: 0, TenantStatus.BILLING_SUSPENDED: 1, TenantStatus.PAST_DUE: 2}
    found.sort(key=lambda a: (urgency.get(a.tenant.status, 3), a.tenant.name))
    return found[:limit]
