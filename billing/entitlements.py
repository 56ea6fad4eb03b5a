"""Limits in one place: what a workspace's plan allows, checked the same way by pages, services, tasks and the API.

`entitlement_check` answers for any resource given what is used now and what would be added; `entitlement_require`
raises `LimitReached` (with the reason and where to upgrade) when a hard limit would be passed. A soft limit lets the
request through and says it is over. `plan_outgrown` is the same check against another plan, for downgrades.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from billing.formatting import limit_text, number_text, size_text
from billing.models import BillingAccount
from billing.plans import PLANS, TRIAL_PLAN, Limit, Plan, Resource
from shared_apps.core.errors import ApplicationError
from shared_apps.core.ratelimit import Bucket, counters_read, window_take, window_take_up_to

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
    return size_text(value) if resource == Resource.STORAGE_BYTES else number_text(value)


def _in_use(resource: Resource, used: int) -> str:
    if resource == Resource.STORAGE_BYTES:
        return _("%(amount)s is in use") % {"amount": size_text(used)}
    return ngettext("%(amount)s is in use", "%(amount)s are in use", used) % {"amount": number_text(used)}


def entitlement_check(*, tenant_id: int, resource: Resource, used: int, adding: int = 1) -> Decision:
    limit, plan_name = limit_for(tenant_id, resource)
    fits = limit.value is None or used + adding <= limit.value
    allowed = fits or not limit.hard
    message = ""
    if not fits:
        includes = _("The %(plan)s plan includes %(limit)s and %(in_use)s.") % {
            "plan": plan_name,
            "limit": limit_text(resource, limit),
            "in_use": _in_use(resource, used),
        }
        advice = (
            _("Upgrade the plan on the billing page for more.")
            if limit.hard
            else _("You are over the plan's size; upgrade on the billing page to keep room to grow.")
        )
        message = f"{includes} {advice}"
    return Decision(resource, allowed, limit.value, used, adding, limit.hard, plan_name, message)


def entitlement_require(*, tenant_id: int, resource: Resource, used: int, adding: int = 1) -> Decision:
    decision = entitlement_check(tenant_id=tenant_id, resource=resource, used=used, adding=adding)
    if not decision.allowed:
        raise LimitReached(decision.message, extra={"resource": str(resource), "limit": decision.limit})
    return decision


def seat_limit(tenant_id: int) -> int:
    """What accounts asks (registered in BillingConfig.ready): seats are a hard limit on every plan."""
    limit, _plan_name = limit_for(tenant_id, Resource.SEATS)
    return limit.value if limit.value is not None else 1_000_000


def plan_outgrown(plan: Plan, usage: dict[Resource, int]) -> list[str]:
    """Why the workspace does not fit in `plan` (hard limits only); empty when it does."""
    reasons = []
    for resource, used in usage.items():
        limit = plan.limit(resource)
        if limit.hard and limit.value is not None and used > limit.value:
            reasons.append(
                _("%(plan)s allows %(limit)s and the workspace uses %(used)s")
                % {"plan": plan.name, "limit": limit_text(resource, limit), "used": _amount(resource, used)}
            )
    return reasons


# The plan of a workspace, as the API's rate limit reads it on every request: remembered per process for a few
# seconds (a plan change reaches every process within that time), so a request costs no query for it.
_PLAN_MEMORY_SECONDS = 10.0
_plan_memory: dict[int, tuple[float, str | None]] = {}
# Not a plan's code: a workspace billing does not know yet gets the trial plan's limits (see `limit_for`).
_UNKNOWN_PLAN = "unknown"


def plan_memory_forget() -> None:
    """Forget the remembered plans (tests; a process that changed a plan may call it to see the change at once)."""
    _plan_memory.clear()


def _plan_code_remembered(tenant_id: int) -> str | None:
    now = time.monotonic()
    remembered = _plan_memory.get(tenant_id)
    if remembered is not None and remembered[0] > now:
        return remembered[1]
    code = plan_code_of(tenant_id)
    if len(_plan_memory) > 10_000:
        _plan_memory.clear()
    _plan_memory[tenant_id] = (now + _PLAN_MEMORY_SECONDS, code)
    return code


@dataclass(frozen=True)
class RateDecision:
    """One API request counted (or refused) against the plan's per-minute rates: the workspace's, and the calling
    client's (an API key, or a person signed in), whichever is tighter. What the `RateLimit-*` headers say."""

    allowed: bool
    limit: int  # the binding limit: the one that refused, else the one with the fewest requests left
    remaining: int
    reset_after: int  # seconds until the window ends (and a refused client may try again)
    scope: str  # "workspace" or "key"
    plan_name: str
    message: str = ""


_UNLIMITED = 1_000_000_000


DAY = 86_400
# Days a workspace's daily API call count stays readable: the metrics refresh (hourly) reads the last few days.
API_CALLS_KEPT_DAYS = 9


def _api_calls_bucket(tenant_id: int) -> Bucket:
    return Bucket(f"api-calls:{{t{tenant_id}}}", _UNLIMITED, window=DAY, keep=API_CALLS_KEPT_DAYS)


def api_calls_on(tenant_ids: Sequence[int], day: date) -> dict[int, int]:
    """API requests each workspace was served on `day` (UTC), as `api_request_allow` counted them; 0 for a day older
    than API_CALLS_KEPT_DAYS. One read of the shared cache per call."""
    moment = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
    keys = {tenant_id: _api_calls_bucket(tenant_id).key_at(moment, DAY) for tenant_id in tenant_ids}
    counts = counters_read(list(keys.values()))
    return {tenant_id: counts.get(key, 0) for tenant_id, key in keys.items()}


def api_request_allow(*, tenant_id: int, client: str | None = None, now: float | None = None) -> RateDecision:
    """Count one API request against the plan's per-minute rates, per workspace and per client (`client`: an API
    key's or a person's stable id; None counts the workspace only). Fixed one-minute windows in the shared cache,
    counted atomically (`shared_apps.core.ratelimit`): Redis, or the database cache every process shares."""

    code = _plan_code_remembered(tenant_id)
    workspace_limit, plan_name = limit_for(tenant_id, Resource.API_REQUESTS_PER_MINUTE, plan_code=code or _UNKNOWN_PLAN)
    client_limit, _same_plan = limit_for(
        tenant_id, Resource.API_REQUESTS_PER_MINUTE_PER_KEY, plan_code=code or _UNKNOWN_PLAN
    )

    def value(limit: Limit) -> int:
        return limit.value if limit.value is not None and limit.hard else _UNLIMITED

    # `{t…}` keeps one workspace's counters in one Redis Cluster slot (the script touches them together). The last
    # bucket limits nothing: it counts the workspace's calls of the day, for the operators' metrics (`api_calls_on`).
    buckets = [Bucket(f"api-rate:{{t{tenant_id}}}", value(workspace_limit))]
    scopes = ["workspace"]
    if client is not None:
        buckets.append(Bucket(f"api-rate:{{t{tenant_id}}}:{client}", value(client_limit)))
        scopes.append("key")
    result = window_take([*buckets, _api_calls_bucket(tenant_id)], window=60, now=now)
    if result.allowed:
        index = min(range(len(buckets)), key=result.remaining)
    else:
        assert result.refused_by is not None  # noqa: S101
        index = result.refused_by
    limit = result.limits[index]
    message = ""
    if not result.allowed:
        count = {"plan": plan_name, "limit": number_text(limit)}
        message = (
            _(
                "The %(plan)s plan allows %(limit)s API requests per minute for this workspace; upgrade the plan on "
                "the billing page for more."
            )
            if scopes[index] == "workspace"
            else _(
                "The %(plan)s plan allows %(limit)s API requests per minute for one API key; upgrade the plan on the "
                "billing page for more."
            )
        ) % count
    return RateDecision(
        allowed=result.allowed,
        limit=limit,
        remaining=result.remaining(index),
        reset_after=result.reset_after(now),
        scope=scopes[index],
        plan_name=plan_name,
        message=message,
    )


def webhook_deliveries_allow(*, tenant_id: int, wanted: int, now: float | None = None) -> tuple[int, float]:
    """Count up to `wanted` webhook delivery attempts against the plan's deliveries a minute, in one step: (how many
    may be made now, POSIX time the window ends). Those that do not fit are not counted (they wait for the next
    window). The plan is remembered per process for a few seconds, as for API requests."""
    code = _plan_code_remembered(tenant_id)
    limit, _plan_name = limit_for(tenant_id, Resource.WEBHOOK_DELIVERIES_PER_MINUTE, plan_code=code or _UNKNOWN_PLAN)
    if limit.value is None:
        return wanted, time.time()
    return window_take_up_to(Bucket(f"webhooks:{{t{tenant_id}}}", limit.value), wanted, window=60, now=now)
