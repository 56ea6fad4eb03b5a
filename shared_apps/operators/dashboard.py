"""The operators' dashboard: how the platform is doing over a date range, against the range before it.

Everything comes from the public schema, in a fixed number of queries whatever the number of workspaces, accounts or
days (tests/workspaces/test_dashboard.py counts them): accounts and workspaces created (live), members, the billing
ledger (trials, conversions, churn, MRR on any day: today's MRR minus the changes since), billing accounts (MRR and
trials now), and what the metrics refresh stored (activity, API calls and sizes per workspace per day, the bytes of
files from storage's accounting and the API calls from the API's daily counters).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from billing.models import BillingAccount, SubscriptionChange, SubscriptionStatus
from billing.plans import human_bytes
from billing.selectors import mrr_cents
from shared_apps.accounts.models import Membership, User
from shared_apps.operators.charts import Chart, Series, bar_chart, day_range, line_chart
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


def _split(period: Period, rows: list[tuple[date, int]]) -> tuple[int, int]:
    """The sum of per-day counts inside the range, and inside the range before it."""
    return (
        sum(n for d, n in rows if period.start <= d <= period.end),
        sum(n for d, n in rows if period.prev_start <= d <= period.prev_end),
    )


def _created_per_day(
    queryset: QuerySet[Any], field_name: str, since: datetime, until: datetime
) -> list[tuple[date, int]]:
    return list(
        queryset.filter(**{f"{field_name}__gte": since, f"{field_name}__lt": until})
        .annotate(day=TruncDate(field_name, tzinfo=UTC))
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )


@dataclass(frozen=True)
class Growth:
    """Accounts and workspaces created per day (over the range and the one before), and memberships. 3 queries."""

    signups: list[tuple[date, int]]
    created: list[tuple[date, int]]
    members: dict[str, int]

    @classmethod
    def read(cls, period: Period) -> Growth:
        since, until = _at(period.prev_start), _at(period.end + timedelta(days=1))
        members = Membership.objects.exclude(tenant__status__in=[TenantStatus.TEMPLATE, TenantStatus.SPARE]).aggregate(
            total=Count("id"),
            joined=Count("id", filter=Q(created_at__gte=_at(period.start), created_at__lt=until)),
            joined_before=Count("id", filter=Q(created_at__gte=since, created_at__lt=_at(period.start))),
            after_end=Count("id", filter=Q(created_at__gte=until)),
            after_prev_end=Count("id", filter=Q(created_at__gte=_at(period.start))),
        )
        return cls(
            signups=_created_per_day(User.objects.filter(is_staff=False), "date_joined", since, until),
            created=_created_per_day(workspaces(), "created_at", since, until),
            members=members,
        )

    def figures(self, period: Period) -> list[Figure]:
        signups_now, signups_prev = _split(period, self.signups)
        created_now, created_prev = _split(period, self.created)
        m = self.members
        return [
            Figure("Sign-ups (new accounts)", signups_now, signups_prev),
            Figure("New workspaces", created_now, created_prev),
            Figure(
                "Members",
                m["total"] - m["after_end"],
                m["total"] - m["after_prev_end"],
                note="memberships in workspaces",
            ),
            Figure("New members", m["joined"], m["joined_before"]),
        ]


@dataclass(frozen=True)
class Activity:
    """From the metrics refresh: workspaces active in the last 7/30 days of the range (and the 7/30 days before
    those), active workspaces and API calls per day. 3 queries."""

    counts: dict[str, Any]
    daily_active: list[tuple[date, int]]
    api_daily: list[tuple[date, int]]

    @classmethod
    def read(cls, period: Period) -> Activity:
        end = period.end
        in_period = Q(day__gte=period.start, day__lte=end)
        in_prev = Q(day__gte=period.prev_start, day__lte=period.prev_end)
        active = Q(events__gt=0)

        def active_between(newest: int, oldest: int) -> Count:
            window = Q(day__gt=end - timedelta(days=oldest)) & Q(day__lte=end - timedelta(days=newest))
            return Count("tenant_id", distinct=True, filter=active & window)

        counts = WorkspaceDay.objects.filter(
            day__gte=min(period.prev_start, end - timedelta(days=59)), day__lte=end
        ).aggregate(
            a7=active_between(0, 7),
            a7_prev=active_between(7, 14),
            a30=active_between(0, 30),
            a30_prev=active_between(30, 60),
            api=Sum("api_calls", filter=in_period),
            api_prev=Sum("api_calls", filter=in_prev),
            api_reported=Count("id", filter=Q(api_calls__isnull=False)),
        )
        daily_active = WorkspaceDay.objects.filter(in_period, events__gt=0).values("day").annotate(n=Count("tenant_id"))
        api_daily = WorkspaceDay.objects.filter(in_period, api_calls__isnull=False).values("day")
        return cls(
            counts=counts,
            daily_active=list(daily_active.values_list("day", "n")),
            api_daily=list(api_daily.annotate(n=Sum("api_calls")).values_list("day", "n")),
        )

    @property
    def api_reported(self) -> bool:
        return bool(self.counts["api_reported"])

    def figures(self) -> list[Figure]:
        c, reported = self.counts, self.api_reported
        return [
            Figure(
                "Active workspaces, 7 days",
                c["a7"],
                c["a7_prev"],
                note="a member did something in the last 7 days of the range (against the 7 before)",
            ),
            Figure(
                "Active workspaces, 30 days",
                c["a30"],
                c["a30_prev"],
                note="…in the last 30 days of the range (against the 30 before)",
            ),
            Figure(
                "API calls",
                c["api"] if reported else None,
                c["api_prev"] if reported else None,
                note="" if reported else "none counted yet (the metrics refresh reads the API's daily counts)",
            ),
        ]


LedgerRow = tuple[datetime, str, str, int, int]  # at, from status, to status, MRR before, MRR after


def _paying_delta(_f: str, _t: str, before: int, after: int) -> int:
    return (after > 0) - (before > 0)


def _trial_delta(f: str, t: str, _b: int, _a: int) -> int:
    return (t == SubscriptionStatus.TRIALING) - (f == SubscriptionStatus.TRIALING)


@dataclass(frozen=True)
class Revenue:
    """The billing ledger since the start of the range before (trials, conversions, churn, how MRR moved) and the
    billing accounts now (MRR, paying workspaces, trials in progress): any day's level is today's minus the changes
    since. 2 queries."""

    ledger: list[LedgerRow]
    mrr_now: int
    paying_now: int
    trials_now: int

    @classmethod
    def read(cls, period: Period) -> Revenue:
        ledger = SubscriptionChange.objects.filter(at__gte=_at(period.prev_start)).values_list(
            "at", "from_status", "to_status", "mrr_before", "mrr_after"
        )
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
            if status == SubscriptionStatus.PAST_DUE:  # counted only where a card is on file
                seats, n, card = row["seats_with_card"], row["with_card"], "x"
            else:
                seats, n, card = row["seats"], row["n"], ""
            amount = mrr_cents(
                plan=row["plan"], interval=row["interval"], seats_paid=seats, status=status, card_last4=card
            )
            mrr_now += amount
            paying_now += n if amount else 0
        return cls(ledger=list(ledger), mrr_now=mrr_now, paying_now=paying_now, trials_now=trials_now)

    def mrr_at(self, day: date) -> int:
        """MRR at the end of `day`: today's, minus every change after that day."""
        cutoff = _at(day + timedelta(days=1))
        return max(0, self.mrr_now - sum(after - before for at, _f, _t, before, after in self.ledger if at >= cutoff))

    def level_at(self, day: date, now_value: int, delta: Callable[[str, str, int, int], int]) -> int:
        """A count (paying workspaces, trials) at the end of `day`: today's, minus every change after that day. Never
        below zero (the ledger starts when billing did: what came before is counted as it is today)."""
        cutoff = _at(day + timedelta(days=1))
        return max(0, now_value - sum(delta(f, t, b, a) for at, f, t, b, a in self.ledger if at >= cutoff))

    def counts(self, first: date, last: date) -> dict[str, int]:
        rows = [r for r in self.ledger if _at(first) <= r[0] < _at(last + timedelta(days=1))]
        trial = SubscriptionStatus.TRIALING
        return {
            "trials": sum(1 for _at_, f, t, _b, _a in rows if t == trial and f != trial),
            "ended": sum(1 for _at_, f, t, _b, _a in rows if f == trial and t != trial),
            "converted": sum(1 for _at_, f, t, _b, a in rows if f == trial and t != trial and a > 0),
            "churned": sum(1 for _at_, _f, _t, b, a in rows if b > 0 and a == 0),
            "churned_mrr": sum(b for _at_, _f, _t, b, a in rows if b > 0 and a == 0),
        }

    def figures(self, period: Period, *, now: datetime) -> list[Figure]:
        current, before = self.counts(period.start, period.end), self.counts(period.prev_start, period.prev_end)
        ended_today = period.end >= now.astimezone(UTC).date()
        mrr_start = self.mrr_at(period.prev_end)
        churn_rate = current["churned_mrr"] / mrr_start * 100 if mrr_start else None
        conversion_rate = current["converted"] / current["ended"] * 100 if current["ended"] else None

        def level(now_value: int, delta: Callable[[str, str, int, int], int]) -> tuple[int, int]:
            at_end = now_value if ended_today else self.level_at(period.end, now_value, delta)
            return at_end, self.level_at(period.prev_end, now_value, delta)

        return [
            Figure(
                "MRR",
                self.mrr_now if ended_today else self.mrr_at(period.end),
                mrr_start,
                fmt=money,
                note="paying subscriptions, per month",
            ),
            Figure("Paying workspaces", *level(self.paying_now, _paying_delta)),
            Figure("Trials in progress", *level(self.trials_now, _trial_delta)),
            Figure("Trials started", current["trials"], before["trials"]),
            Figure(
                "Conversions",
                current["converted"],
                before["converted"],
                note=(
                    f"{conversion_rate:.0f}% of the {current['ended']} trials that ended"
                    if conversion_rate is not None
                    else "no trial ended in the range"
                ),
            ),
            Figure(
                "Churned MRR",
                current["churned_mrr"],
                before["churned_mrr"],
                fmt=money,
                up_is_good=False,
                note=(
                    f"{current['churned']} workspace(s); {churn_rate:.1f}% of the MRR at the start"
                    if churn_rate is not None
                    else f"{current['churned']} workspace(s)"
                ),
            ),
        ]

    def series(self, period: Period, days: list[date]) -> tuple[list[float | None], list[float], list[float]]:
        """MRR at the end of each day, trials started and conversions per day."""
        trials: dict[date, int] = defaultdict(int)
        conversions: dict[date, int] = defaultdict(int)
        mrr_deltas: dict[date, int] = defaultdict(int)
        for at, f, t, before, after in self.ledger:
            day = at.astimezone(UTC).date()
            if t == SubscriptionStatus.TRIALING and f != SubscriptionStatus.TRIALING:
                trials[day] += 1
            if f == SubscriptionStatus.TRIALING and t != SubscriptionStatus.TRIALING and after > 0:
                conversions[day] += 1
            mrr_deltas[day] += after - before
        mrr: list[float | None] = []
        level = float(self.mrr_at(period.end))
        for d in reversed(days):
            mrr.append(level)
            level -= mrr_deltas.get(d, 0)
        mrr.reverse()
        return mrr, [float(trials.get(d, 0)) for d in days], [float(conversions.get(d, 0)) for d in days]


@dataclass(frozen=True)
class Sizes:
    """The database and file sizes the metrics refresh found, per day. 1 query."""

    platform: list[PlatformDay]

    @classmethod
    def read(cls, period: Period) -> Sizes:
        return cls(list(PlatformDay.objects.filter(day__lte=period.end).order_by("-day")[: period.days * 2 + 1]))

    def at(self, day: date) -> PlatformDay | None:
        return next((p for p in self.platform if p.day <= day), None)

    @property
    def latest(self) -> PlatformDay | None:
        return self.platform[0] if self.platform else None

    def storage_reported(self, period: Period) -> bool:
        at_end = self.at(period.end)
        return bool(at_end and at_end.storage_bytes is not None)

    def figures(self, period: Period) -> list[Figure]:
        at_end, at_prev = self.at(period.end), self.at(period.prev_end)
        reported = self.storage_reported(period)
        return [
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
                note="" if reported else "after the first metrics refresh",
            ),
        ]


def _charts(period: Period, growth: Growth, activity: Activity, revenue: Revenue) -> list[Chart]:
    days = day_range(period.start, period.end)
    mrr, trials, conversions = revenue.series(period, days)
    new_accounts = _per_day([(d, n) for d, n in growth.signups if d >= period.start], days)
    new_workspaces = _per_day([(d, n) for d, n in growth.created if d >= period.start], days)
    charts = [
        bar_chart(
            "Sign-ups per day",
            days,
            [Series("new accounts", new_accounts, "chart__s1"), Series("new workspaces", new_workspaces, "chart__s2")],
        ),
        line_chart(
            "Active workspaces per day", days, [Series("workspaces active", _per_day(activity.daily_active, days))]
        ),
        line_chart("MRR", days, [Series("MRR", mrr)], fmt=money),
        bar_chart(
            "Trials and conversions",
            days,
            [
                Series("trials started", list(trials), "chart__s1"),
                Series("conversions", list(conversions), "chart__s2"),
            ],
        ),
    ]
    if activity.api_reported:
        charts.append(bar_chart("API calls per day", days, [Series("API calls", _per_day(activity.api_daily, days))]))
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
        ("Growth", growth.figures(period)),
        ("Activity", activity.figures()),
        ("Revenue", revenue.figures(period, now=now)),
        ("Storage", sizes.figures(period)),
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
            reasons.append("trial ends today" if left == 0 else f"trial ends in {left} day{'s' if left != 1 else ''}")
        metrics = getattr(tenant, "metrics", None)
        if metrics and metrics.mrr_cents > 0 and (not metrics.last_activity_at or metrics.last_activity_at < dormant):
            reasons.append(f"paying, no activity for {DORMANT_DAYS}+ days")
        if reasons:
            found.append(Attention(tenant=tenant, host=str(getattr(tenant, "host", "") or ""), reasons=reasons))
    urgency = {TenantStatus.READ_ONLY: 0, TenantStatus.BILLING_SUSPENDED: 1, TenantStatus.PAST_DUE: 2}
    found.sort(key=lambda a: (urgency.get(a.tenant.status, 3), a.tenant.name))
    return found[:limit]
