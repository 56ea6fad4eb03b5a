"""Limits in one place: what a workspace's plan allows, checked the same way by pages, services, tasks and the API.

`entitlement_check` answers for any resource given what is used now and what would be added; `entitlement_require`
raises `LimitReached` (with the reason and where to upgrade) when a hard limit would be passed. A soft limit lets the
request through and says it is over. `plan_outgrown` is the same check against another plan, for downgrades.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches

from billing.models import BillingAccount
from billing.plans import PLANS, RESOURCE_LABELS, TRIAL_PLAN, Limit, Plan, Resource, human_bytes, human_limit
from shared_apps.core.errors import ApplicationError

UPGRADE_PATH = "/settings/billing/"


class LimitReached(ApplicationError):
    """A hard limit of the workspace's plan would be passed; the message says which and how to get more."""

    upgrade_path = UPGRADE_PATH


@dataclass(frozen=True)
class Decision:
    resource: Resource
    allowed: bool
    limit: int | None
    used: int
    requested: int
    hard: bool
    plan_name: str
    message: str = ""

    @property
    def over_soft_limit(self) -> bool:
        return self.allowed and self.limit is not None and self.used + self.requested > self.limit


def plan_code_of(tenant_id: int) -> str | None:
    """The plan a workspace pays for (or tries), None when billing does not know it yet."""
    code = BillingAccount.objects.filter(tenant_id=tenant_id).values_list("plan", flat=True).first()
    return code or None


def limit_for(tenant_id: int, resource: Resource, *, plan_code: str | None = None) -> tuple[Limit, str]:
    """(the limit, the plan's name). A workspace billing does not know yet (created before billing, or its trial not
    started yet) gets the trial plan's limits, with TENANT_DEFAULT_SEAT_LIMIT seats."""
    code = plan_code or plan_code_of(tenant_id)
    plan = PLANS.get(code or "")
    if plan is None:
        if resource == Resource.SEATS:
            return Limit(int(settings.TENANT_DEFAULT_SEAT_LIMIT)), "your plan"
        return PLANS[TRIAL_PLAN].limit(resource), "your plan"
    return plan.limit(resource), plan.name


def _amount(resource: Resource, value: int) -> str:
    return human_bytes(value) if resource == Resource.STORAGE_BYTES else f"{value:,}"


def entitlement_check(*, tenant_id: int, resource: Resource, used: int, adding: int = 1) -> Decision:
    limit, plan_name = limit_for(tenant_id, resource)
    fits = limit.value is None or used + adding <= limit.value
    allowed = fits or not limit.hard
    message = ""
    if not fits:
        label = RESOURCE_LABELS[resource]
        message = (
            f"The {plan_name} plan includes {human_limit(resource, limit)} {label} and "
            f"{_amount(resource, used)} {'is' if resource == Resource.STORAGE_BYTES else 'are'} in use. "
            + (
                "Upgrade the plan on the billing page for more."
                if limit.hard
                else "You are over the plan's size; upgrade on the billing page to keep room to grow."
            )
        )
    return Decision(resource, allowed, limit.value, used, adding, limit.hard, plan_name, message)


def entitlement_require(*, tenant_id: int, resource: Resource, used: int, adding: int = 1) -> Decision:
    decision = entitlement_check(tenant_id=tenant_id, resource=resource, used=used, adding=adding)
    if not decision.allowed:
        raise LimitReached(decision.message, extra={"resource": str(resource), "limit": decision.limit})
    return decision


def seat_limit(tenant_id: int) -> int:
    """What accounts asks (registered in BillingConfig.ready): seats are a hard limit on every plan."""
    limit, _ = limit_for(tenant_id, Resource.SEATS)
    return limit.value if limit.value is not None else 1_000_000


def plan_outgrown(plan: Plan, usage: dict[Resource, int]) -> list[str]:
    """Why the workspace does not fit in `plan` (hard limits only); empty when it does."""
    reasons = []
    for resource, used in usage.items():
        limit = plan.limit(resource)
        if limit.hard and limit.value is not None and used > limit.value:
            reasons.append(
                f"{plan.name} allows {human_limit(resource, limit)} {RESOURCE_LABELS[resource]} "
                f"and the workspace uses {_amount(resource, used)}"
            )
    return reasons


def api_request_allow(*, tenant_id: int, now: float | None = None) -> Decision:
    """Count one API request against the plan's per-minute rate (a fixed one-minute window in the shared cache, so
    every process counts together)."""
    minute = int((now if now is not None else time.time()) // 60)
    cache = caches["shared"]
    key = f"api-rate:{tenant_id}:{minute}"
    cache.add(key, 0, timeout=120)
    try:
        used = int(cache.incr(key)) - 1
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=120)
        used = 0
    return entitlement_check(tenant_id=tenant_id, resource=Resource.API_REQUESTS_PER_MINUTE, used=used, adding=1)
