"""Plans as code: what each plan costs, how long its trial lasts, and what it allows.

`manage.py billing sync-plans` makes Stripe's products and prices match this file (found again by their lookup keys,
so it can run any number of times). Everything else — the pricing page, checkout, the entitlement check, the billing
page — reads plans from here, never from Stripe.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

GB = 1024**3


class Resource(StrEnum):
    SEATS = "seats"
    PROJECTS = "projects"
    STORAGE_BYTES = "storage_bytes"
    API_REQUESTS_PER_MINUTE = "api_requests_per_minute"
    API_REQUESTS_PER_MINUTE_PER_KEY = "api_requests_per_minute_per_key"
    WEBHOOK_ENDPOINTS = "webhook_endpoints"
    WEBHOOK_DELIVERIES_PER_MINUTE = "webhook_deliveries_per_minute"


class Interval(StrEnum):
    MONTH = "month"
    YEAR = "year"


@dataclass(frozen=True)
class Limit:
    """`value` None: unlimited. Hard: refused past it. Soft: allowed past it, shown as over the plan's size."""

    value: int | None
    hard: bool = True


@dataclass(frozen=True)
class Plan:
    code: str
    name: str
    tagline: str | Promise
    # Price per seat, in cents, for each billing interval.
    seat_price: dict[Interval, int]
    trial_days: int
    limits: dict[Resource, Limit]
    rank: int  # upgrades go up in rank

    def limit(self, resource: Resource) -> Limit:
        return self.limits[resource]

    def lookup_key(self, interval: Interval) -> str:
        return f"atrium_{self.code}_{interval}"

    @property
    def is_free(self) -> bool:
        return all(amount == 0 for amount in self.seat_price.values())


# Seats are what is paid for: the seat limit is hard on every plan (the plan's largest team).
PLANS: dict[str, Plan] = {
    plan.code: plan
    for plan in (
        Plan(
            code="free",
            name="Free",
            tagline=_("For trying Atrium with a small team."),
            seat_price={Interval.MONTH: 0, Interval.YEAR: 0},
            trial_days=0,
            limits={
                Resource.SEATS: Limit(3),
                Resource.PROJECTS: Limit(3),
                Resource.STORAGE_BYTES: Limit(1 * GB),
                Resource.API_REQUESTS_PER_MINUTE: Limit(60),
                Resource.API_REQUESTS_PER_MINUTE_PER_KEY: Limit(30),
                Resource.WEBHOOK_ENDPOINTS: Limit(2),
                Resource.WEBHOOK_DELIVERIES_PER_MINUTE: Limit(120),
            },
            rank=0,
        ),
        Plan(
            code="pro",
            name="Pro",
            tagline=_("For teams that run their work in Atrium."),
            seat_price={Interval.MONTH: 1200, Interval.YEAR: 12000},
            trial_days=14,
            limits={
                Resource.SEATS: Limit(50),
                Resource.PROJECTS: Limit(100, hard=False),
                Resource.STORAGE_BYTES: Limit(50 * GB, hard=False),
                Resource.API_REQUESTS_PER_MINUTE: Limit(600),
                Resource.API_REQUESTS_PER_MINUTE_PER_KEY: Limit(300),
                Resource.WEBHOOK_ENDPOINTS: Limit(10),
                Resource.WEBHOOK_DELIVERIES_PER_MINUTE: Limit(1200),
            },
            rank=1,
        ),
        Plan(
            code="business",
            name="Business",
            tagline=_("For larger organizations with more people and data."),
            seat_price={Interval.MONTH: 2400, Interval.YEAR: 24000},
            trial_days=14,
            limits={
                Resource.SEATS: Limit(500),
                Resource.PROJECTS: Limit(None),
                Resource.STORAGE_BYTES: Limit(1024 * GB, hard=False),
                Resource.API_REQUESTS_PER_MINUTE: Limit(3000),
                Resource.API_REQUESTS_PER_MINUTE_PER_KEY: Limit(1000),
                Resource.WEBHOOK_ENDPOINTS: Limit(50),
                Resource.WEBHOOK_DELIVERIES_PER_MINUTE: Limit(6000),
            },
            rank=2,
        ),
    )
}

# Every new workspace starts a trial of this plan, without a card.
TRIAL_PLAN = "pro"


def plan_get(code: str) -> Plan | None:
    return PLANS.get(code)


def plan_for_lookup_key(lookup_key: str | None) -> tuple[Plan, Interval] | None:
    """The plan and interval a Stripe price's lookup key names (None for a price Atrium did not make)."""
    for plan in PLANS.values():
        for interval in Interval:
            if plan.lookup_key(interval) == lookup_key:
                return plan, interval
    return None
