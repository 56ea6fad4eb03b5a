"""Revenue: the billing ledger (trials, conversions, churn) and MRR on any day."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.db.models import Count, IntegerField, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from billing.models import BillingAccount, SubscriptionChange, SubscriptionStatus
from billing.selectors import mrr_cents
from shared_apps.operators.dashboard.figures import Figure, money
from shared_apps.operators.dashboard.period import Period, day_start
from tenants.selectors import workspaces

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
        ledger = SubscriptionChange.objects.filter(at__gte=day_start(period.prev_start)).values_list(
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
        cutoff = day_start(day + timedelta(days=1))
        return max(0, self.mrr_now - sum(after - before for at, _f, _t, before, after in self.ledger if at >= cutoff))

    def level_at(self, day: date, now_value: int, delta: Callable[[str, str, int, int], int]) -> int:
        """A count (paying workspaces, trials) at the end of `day`: today's, minus every change after that day. Never
        below zero (the ledger starts when billing did: what came before is counted as it is today)."""
        cutoff = day_start(day + timedelta(days=1))
        return max(0, now_value - sum(delta(f, t, b, a) for at, f, t, b, a in self.ledger if at >= cutoff))

    def counts(self, first: date, last: date) -> dict[str, int]:
        rows = [r for r in self.ledger if day_start(first) <= r[0] < day_start(last + timedelta(days=1))]
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

        churned_workspaces = ngettext("%(count)d workspace", "%(count)d workspaces", current["churned"]) % {
            "count": current["churned"]
        }

        def level(now_value: int, delta: Callable[[str, str, int, int], int]) -> tuple[int, int]:
            at_end = now_value if ended_today else self.level_at(period.end, now_value, delta)
            return at_end, self.level_at(period.prev_end, now_value, delta)

        return [
            Figure(
                _("MRR"),
                self.mrr_now if ended_today else self.mrr_at(period.end),
                mrr_start,
                fmt=money,
                note=_("paying subscriptions, per month"),
            ),
            Figure(_("Paying workspaces"), *level(self.paying_now, _paying_delta)),
            Figure(_("Trials in progress"), *level(self.trials_now, _trial_delta)),
            Figure(_("Trials started"), current["trials"], before["trials"]),
            Figure(
                _("Conversions"),
                current["converted"],
                before["converted"],
                note=(
                    ngettext(
                        "%(rate)s%% of the %(ended)d trial that ended",
                        "%(rate)s%% of the %(ended)d trials that ended",
                        current["ended"],
                    )
                    % {"rate": f"{conversion_rate:.0f}", "ended": current["ended"]}
                    if conversion_rate is not None
                    else _("no trial ended in the range")
                ),
            ),
            Figure(
                _("Churned MRR"),
                current["churned_mrr"],
                before["churned_mrr"],
                fmt=money,
                up_is_good=False,
                note=(
                    _("%(workspaces)s; %(rate)s%% of the MRR at the start")
                    % {"workspaces": churned_workspaces, "rate": f"{churn_rate:.1f}"}
                    if churn_rate is not None
                    else churned_workspaces
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
