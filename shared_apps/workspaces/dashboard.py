"""The operators' dashboard: how the platform is doing over a date range, against the range before it.

Everything comes from the public schema, in a fixed number of queries whatever the number of workspaces, accounts or
days (tests/workspaces/test_dashboard.py counts them): accounts and workspaces created (live), members, the billing
ledger (trials, conversions, churn, MRR on any day: today's MRR minus the changes since), billing accounts (MRR and
trials now), and what the metrics refresh stored (activity per workspace per day, sizes per day). File storage and API
calls are reported by apps of their own (`shared_apps.core.usage`); until they do, their figures say "not reported".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from billing.models import BillingAccount, SubscriptionChange, SubscriptionStatus
from billing.plans import human_bytes
from billing.selectors import mrr_cents
from shared_apps.accounts.models import Membership, User
from shared_apps.workspaces.charts import Chart, Series, bar_chart, day_range, line_chart
from shared_apps.workspaces.models import PlatformDay, WorkspaceDay
from tenants.models import Domain, Tenant, TenantStatus
from tenants.selectors import workspaces

PRESETS = {"7": 7, "30": 30, "90": 90, "365": 365}
DEFAULT_PRESET = "30"
MAX_DAYS = 731
EARLIEST = date(2000, 1, 1)
TRIAL_ENDING_DAYS = 3
DORMANT_DAYS = 30
ATTENTION_ROWS = 10
MINUS = "\u2212"


# ---------------------------------------------------------------------------------------------------------------------
# The date range
# ---------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    start: date  # first day, included
    end: date  # last day, included
    preset: str = ""  # "7", "30", …; "" for a custom range

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def prev_end(self) -> date:
        return self.start - timedelta(days=1)

    @property
    def prev_start(self) -> date:
        return self.start - timedelta(days=self.days)

    @property
    def label(self) -> str:
        if self.preset:
            return f"Last {self.days} days"
        return f"{self.start:%b} {self.start.day}, {self.start.year} to {self.end:%b} {self.end.day}, {self.end.year}"


def _parse_day(value: str) -> date | None:
    value = value.strip()
    if not value or len(value) != 10:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def period_from(params: Mapping[str, str], *, today: date) -> tuple[Period, str]:
    """The range the page asks for (`range` = 7/30/90/365, or `from`/`to` as YYYY-MM-DD), and a message when it had
    to fall back to the last 30 days."""
    preset = str(params.get("range", "") or "")
    raw_from, raw_to = str(params.get("from", "") or ""), str(params.get("to", "") or "")
    if not raw_from and not raw_to:
        days = PRESETS.get(preset or DEFAULT_PRESET)
        if days is None:
            days, preset = PRESETS[DEFAULT_PRESET], DEFAULT_PRESET
        return Period(today - timedelta(days=days - 1), today, preset), ""
    fallback = Period(today - timedelta(days=PRESETS[DEFAULT_PRESET] - 1), today, DEFAULT_PRESET)
    start, end = _parse_day(raw_from), _parse_day(raw_to) if raw_to else today
    if start is None or end is None:
        return fallback, "Dates are written YYYY-MM-DD; showing the last 30 days."
    if start > end:
        return fallback, "The start of the range comes after its end; showing the last 30 days."
    if end > today:
        return fallback, "The range cannot end in the future; showing the last 30 days."
    if start < EARLIEST:
        return fallback, f"The range cannot start before {EARLIEST:%Y-%m-%d}; showing the last 30 days."
    if (end - start).days + 1 > MAX_DAYS:
        return fallback, f"A range covers at most {MAX_DAYS} days; showing the last 30 days."
    return Period(start, end), ""


def _at(day: date) -> datetime:
    """Midnight UTC at the start of `day`."""
    return datetime.combine(day, time.min, tzinfo=UTC)


# ---------------------------------------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------------------------------------


def money(cents: float) -> str:
    return f"${cents / 100:,.0f}"


def count(value: float) -> str:
    return f"{value:,.0f}"


def size(value: float) -> str:
    return human_bytes(int(value))


@dataclass(frozen=True)
class Figure:
    label: str
    value: float | None  # None: not known (not reported yet, or no data that far back)
    previous: float | None
    fmt: Callable[[float], str] = count
    note: str = ""
    up_is_good: bool = True

    @property
    def shown(self) -> str:
        return self.fmt(self.value) if self.value is not None else "—"

    @property
    def change(self) -> str:
        """The change against the previous period, in words: "+12%", "-3%" (with a minus sign), "new", "no change"."""
        if self.value is None or self.previous is None:
            return ""
        if self.value == self.previous:
            return "no change"
        if self.previous == 0:
            return "new"
        pct = (self.value - self.previous) / abs(self.previous) * 100
        return f"{'+' if pct > 0 else MINUS}{abs(pct):.0f}%"

    @property
    def trend(self) -> str:
        """good / bad / flat / none: how the change reads (more churn is bad)."""
        if self.value is None or self.previous is None or self.value == self.previous:
            return "flat" if self.value is not None and self.value == self.previous else "none"
        up = self.value > self.previous
        return "good" if up == self.up_is_good else "bad"

    @property
    def previous_shown(self) -> str:
        return self.fmt(self.previous) if self.previous is not None else "no data"


@dataclass(frozen=True)
class Attention:
    tenant: Tenant
    host: str
    reasons: list[str]


@dataclass
class Dashboard:
    period: Period
    groups: list[tuple[str, list[Figure]]] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    attention: list[Attention] = field(default_factory=list)
    statuses: list[tuple[str, int]] = field(default_factory=list)
    refreshed_at: datetime | None = None
    refresh_seconds: float | None = None
    storage_reported: bool = False
    api_reported: bool = False


def _per_day(rows: list[tuple[date, int]], days: list[date]) -> list[float | None]:
    found = dict(rows)
    return [float(found.get(d, 0)) for d in days]


def dashboard_build(period: Period, *, now: datetime | None = None) -> Dashboard:
    """Every figure, chart and list of the dashboard for `period`. A fixed number of queries (11)."""
    now = now or timezone.now()
    board = Dashboard(period=period)
    days = day_range(period.start, period.end)
    since, until = _at(period.prev_start), _at(period.end + timedelta(days=1))
    in_period = Q(day__gte=period.start, day__lte=period.end)
    in_prev = Q(day__gte=period.prev_start, day__lte=period.prev_end)

    # 1-2. Accounts and workspaces created per day, over the range and the one before it.
    signups = list(
        User.objects.filter(is_staff=False, date_joined__gte=since, date_joined__lt=until)
        .annotate(day=TruncDate("date_joined", tzinfo=UTC))
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    created = list(
        workspaces()
        .filter(created_at__gte=since, created_at__lt=until)
        .annotate(day=TruncDate("created_at", tzinfo=UTC))
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )

    def split(rows: list[tuple[date, int]]) -> tuple[int, int]:
        return (
            sum(n for d, n in rows if period.start <= d <= period.end),
            sum(n for d, n in rows if period.prev_start <= d <= period.prev_end),
        )

    # 3. Members: now, and who joined in each range.
    members = Membership.objects.exclude(tenant__status__in=[TenantStatus.TEMPLATE, TenantStatus.SPARE]).aggregate(
        total=Count("id"),
        joined=Count("id", filter=Q(created_at__gte=_at(period.start), created_at__lt=until)),
        joined_before=Count("id", filter=Q(created_at__gte=since, created_at__lt=_at(period.start))),
        after_end=Count("id", filter=Q(created_at__gte=until)),
        after_prev_end=Count("id", filter=Q(created_at__gte=_at(period.start))),
    )

    # 4-5. Activity, from the metrics refresh: workspaces active in the last 7/30 days of the range (and the 7/30 days
    # before those), and API calls when an API app reports them.
    end = period.end
    window_start = min(period.prev_start, end - timedelta(days=59))
    active = Q(events__gt=0)
    activity = WorkspaceDay.objects.filter(day__gte=window_start, day__lte=end).aggregate(
        a7=Count("tenant_id", distinct=True, filter=active & Q(day__gt=end - timedelta(days=7))),
        a7_prev=Count(
            "tenant_id",
            distinct=True,
            filter=active & Q(day__gt=end - timedelta(days=14), day__lte=end - timedelta(days=7)),
        ),
        a30=Count("tenant_id", distinct=True, filter=active & Q(day__gt=end - timedelta(days=30))),
        a30_prev=Count(
            "tenant_id",
            distinct=True,
            filter=active & Q(day__gt=end - timedelta(days=60), day__lte=end - timedelta(days=30)),
        ),
        api=Sum("api_calls", filter=in_period),
        api_prev=Sum("api_calls", filter=in_prev),
        api_reported=Count("id", filter=Q(api_calls__isnull=False)),
    )
    daily_active = list(
        WorkspaceDay.objects.filter(in_period, events__gt=0)
        .values("day")
        .annotate(n=Count("tenant_id"))
        .values_list("day", "n")
    )
    api_daily = list(
        WorkspaceDay.objects.filter(in_period, api_calls__isnull=False)
        .values("day")
        .annotate(n=Sum("api_calls"))
        .values_list("day", "n")
    )

    # 6. The billing ledger since the start of the previous range: trials, conversions, churn, and how MRR moved.
    ledger = list(
        SubscriptionChange.objects.filter(at__gte=since).values_list(
            "at", "from_status", "to_status", "mrr_before", "mrr_after"
        )
    )
    # 7. Billing accounts now: MRR, paying workspaces, trials in progress.
    accounts = (
        BillingAccount.objects.filter(tenant__in=workspaces())
        .values("status", "plan", "interval")
        .annotate(
            seats=Coalesce(Sum("seats_paid"), Value(0), output_field=IntegerField()),
            n=Count("id"),
            with_card=Count("id", filter=~Q(card_last4="")),
            seats_with_card=Coalesce(
                Sum("seats_paid", filter=~Q(card_last4="")), Value(0), output_field=IntegerField()
            ),
        )
    )
    mrr_now = paying_now = trials_now = 0
    for row in accounts:
        status = row["status"]
        if status == SubscriptionStatus.TRIALING:
            trials_now += row["n"]
        if status == SubscriptionStatus.PAST_DUE:
            seats, n, card = row["seats_with_card"], row["with_card"], "x"
        else:
            seats, n, card = row["seats"], row["n"], ""
        amount = mrr_cents(plan=row["plan"], interval=row["interval"], seats_paid=seats, status=status, card_last4=card)
        mrr_now += amount
        paying_now += n if amount else 0

    def mrr_at(day: date) -> int:
        """MRR at the end of `day`: today's, minus every change after that day."""
        cutoff = _at(day + timedelta(days=1))
        return max(0, mrr_now - sum(after - before for at, _f, _t, before, after in ledger if at >= cutoff))

    def level_at(day: date, now_value: int, delta: Callable[[str, str, int, int], int]) -> int:
        """A count (paying workspaces, trials) at the end of `day`: today's, minus every change after that day. Never
        below zero (the ledger starts when billing did: what came before is counted as it is today)."""
        cutoff = _at(day + timedelta(days=1))
        return max(0, now_value - sum(delta(f, t, b, a) for at, f, t, b, a in ledger if at >= cutoff))

    def paying_delta(_f: str, _t: str, before: int, after: int) -> int:
        return (after > 0) - (before > 0)

    def trial_delta(f: str, t: str, _b: int, _a: int) -> int:
        return (t == SubscriptionStatus.TRIALING) - (f == SubscriptionStatus.TRIALING)

    def in_range(at: datetime, first: date, last: date) -> bool:
        return _at(first) <= at < _at(last + timedelta(days=1))

    def ledger_counts(first: date, last: date) -> dict[str, int]:
        rows = [r for r in ledger if in_range(r[0], first, last)]
        trial = SubscriptionStatus.TRIALING
        return {
            "trials": sum(1 for _at_, f, t, _b, _a in rows if t == trial and f != trial),
            "ended": sum(1 for _at_, f, t, _b, _a in rows if f == trial and t != trial),
            "converted": sum(1 for _at_, f, t, _b, a in rows if f == trial and t != trial and a > 0),
            "churned": sum(1 for _at_, _f, _t, b, a in rows if b > 0 and a == 0),
            "churned_mrr": sum(b for _at_, _f, _t, b, a in rows if b > 0 and a == 0),
        }

    now_counts = ledger_counts(period.start, period.end)
    prev_counts = ledger_counts(period.prev_start, period.prev_end)
    ended_today = period.end >= now.astimezone(UTC).date()
    mrr_end, mrr_prev = (mrr_now if ended_today else mrr_at(period.end)), mrr_at(period.prev_end)
    churn_rate = now_counts["churned_mrr"] / mrr_at(period.prev_end) * 100 if mrr_at(period.prev_end) else None
    conversion_rate = now_counts["converted"] / now_counts["ended"] * 100 if now_counts["ended"] else None

    # 8. Sizes per day, as the metrics refresh found them.
    platform = list(PlatformDay.objects.filter(day__lte=end).order_by("-day")[: period.days * 2 + 1])

    def snapshot(day: date) -> PlatformDay | None:
        return next((p for p in platform if p.day <= day), None)

    at_end, at_prev = snapshot(end), snapshot(period.prev_end)
    latest = platform[0] if platform else None
    if latest is not None:
        board.refreshed_at, board.refresh_seconds = latest.refreshed_at, latest.refresh_seconds
    board.storage_reported = bool(at_end and at_end.storage_bytes is not None)
    board.api_reported = bool(activity["api_reported"])

    signups_now, signups_prev = split(signups)
    created_now, created_prev = split(created)
    members_end = members["total"] - members["after_end"]
    members_prev = members["total"] - members["after_prev_end"]

    board.groups = [
        (
            "Growth",
            [
                Figure("Sign-ups (new accounts)", signups_now, signups_prev),
                Figure("New workspaces", created_now, created_prev),
                Figure("Members", members_end, members_prev, note="memberships in workspaces"),
                Figure("New members", members["joined"], members["joined_before"]),
            ],
        ),
        (
            "Activity",
            [
                Figure(
                    "Active workspaces, 7 days",
                    activity["a7"],
                    activity["a7_prev"],
                    note="a member did something in the last 7 days of the range (against the 7 before)",
                ),
                Figure(
                    "Active workspaces, 30 days",
                    activity["a30"],
                    activity["a30_prev"],
                    note="…in the last 30 days of the range (against the 30 before)",
                ),
                Figure(
                    "API calls",
                    activity["api"] if board.api_reported else None,
                    activity["api_prev"] if board.api_reported else None,
                    note="" if board.api_reported else "not reported yet: the API reports its calls once it ships",
                ),
            ],
        ),
        (
            "Revenue",
            [
                Figure("MRR", mrr_end, mrr_prev, fmt=money, note="paying subscriptions, per month"),
                Figure(
                    "Paying workspaces",
                    paying_now if ended_today else level_at(end, paying_now, paying_delta),
                    level_at(period.prev_end, paying_now, paying_delta),
                ),
                Figure(
                    "Trials in progress",
                    trials_now if ended_today else level_at(end, trials_now, trial_delta),
                    level_at(period.prev_end, trials_now, trial_delta),
                ),
                Figure("Trials started", now_counts["trials"], prev_counts["trials"]),
                Figure(
                    "Conversions",
                    now_counts["converted"],
                    prev_counts["converted"],
                    note=(
                        f"{conversion_rate:.0f}% of the {now_counts['ended']} trials that ended"
                        if conversion_rate is not None
                        else "no trial ended in the range"
                    ),
                ),
                Figure(
                    "Churned MRR",
                    now_counts["churned_mrr"],
                    prev_counts["churned_mrr"],
                    fmt=money,
                    up_is_good=False,
                    note=(
                        f"{now_counts['churned']} workspace(s); {churn_rate:.1f}% of the MRR at the start"
                        if churn_rate is not None
                        else f"{now_counts['churned']} workspace(s)"
                    ),
                ),
            ],
        ),
        (
            "Storage",
            [
                Figure(
                    "Database",
                    at_end.database_bytes if at_end else None,
                    at_prev.database_bytes if at_prev else None,
                    fmt=size,
                    note="" if at_end else "after the first metrics refresh",
                ),
                Figure(
                    "Files",
                    at_end.storage_bytes if at_end and at_end.storage_bytes is not None else None,
                    at_prev.storage_bytes if at_prev and at_prev.storage_bytes is not None else None,
                    fmt=size,
                    note=""
                    if board.storage_reported
                    else "not reported yet: file storage reports its size once it ships",
                ),
            ],
        ),
    ]

    new_accounts = _per_day([(d, n) for d, n in signups if d >= period.start], days)
    new_workspaces = _per_day([(d, n) for d, n in created if d >= period.start], days)
    trials: dict[date, int] = defaultdict(int)
    conversions: dict[date, int] = defaultdict(int)
    mrr_deltas: dict[date, int] = defaultdict(int)
    for at, f, t, before, after in ledger:
        day = at.astimezone(UTC).date()
        if t == SubscriptionStatus.TRIALING and f != SubscriptionStatus.TRIALING:
            trials[day] += 1
        if f == SubscriptionStatus.TRIALING and t != SubscriptionStatus.TRIALING and after > 0:
            conversions[day] += 1
        mrr_deltas[day] += after - before
    mrr_series: list[float | None] = []
    level = float(mrr_at(period.end))
    for d in reversed(days):
        mrr_series.append(level)
        level -= mrr_deltas.get(d, 0)
    mrr_series.reverse()
    board.charts = [
        bar_chart(
            "Sign-ups per day",
            days,
            [Series("new accounts", new_accounts, "chart__s1"), Series("new workspaces", new_workspaces, "chart__s2")],
        ),
        line_chart("Active workspaces per day", days, [Series("workspaces active", _per_day(daily_active, days))]),
        line_chart("MRR", days, [Series("MRR", mrr_series)], fmt=money),
        bar_chart(
            "Trials and conversions",
            days,
            [
                Series("trials started", [float(trials.get(d, 0)) for d in days], "chart__s1"),
                Series("conversions", [float(conversions.get(d, 0)) for d in days], "chart__s2"),
            ],
        ),
    ]
    if board.api_reported:
        board.charts.append(bar_chart("API calls per day", days, [Series("API calls", _per_day(api_daily, days))]))

    # 9. How many workspaces are in each state.
    labels = dict(TenantStatus.choices)
    board.statuses = [
        (labels.get(status, status), n)
        for status, n in workspaces().values("status").annotate(n=Count("id")).order_by("-n").values_list("status", "n")
    ]
    # 10. Workspaces that need someone to look at them.
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
            reasons.append("trial ends today" if left == 0 else f"trial ends in {left} day{'s' if left != 1 else ''}")
        metrics = getattr(tenant, "metrics", None)
        if metrics and metrics.mrr_cents > 0 and (not metrics.last_activity_at or metrics.last_activity_at < dormant):
            reasons.append(f"paying, no activity for {DORMANT_DAYS}+ days")
        if reasons:
            found.append(Attention(tenant=tenant, host=str(getattr(tenant, "host", "") or ""), reasons=reasons))
    urgency = {TenantStatus.READ_ONLY: 0, TenantStatus.BILLING_SUSPENDED: 1, TenantStatus.PAST_DUE: 2}
    found.sort(key=lambda a: (urgency.get(a.tenant.status, 3), a.tenant.name))
    return found[:limit]
