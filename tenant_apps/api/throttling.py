"""The plan's rate limits on every API request: one mechanism, billing's `api_request_allow`, counted atomically per
client (key or person) and per workspace in the shared cache. The decision rides on the request so that every
response can say where the caller stands (`RateLimit-*` headers, set by the views' base class)."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from billing.entitlements import RateDecision, api_request_allow
from tenant_apps.api.authentication import ApiCaller, workspace_id_of

DECISION_ATTRIBUTE = "api_rate_decision"


def decision_of(request: Request | Any) -> RateDecision | None:
    return getattr(getattr(request, "_request", request), DECISION_ATTRIBUTE, None)


class PlanRateThrottle(BaseThrottle):
    def allow_request(self, request: Request, view: Any) -> bool:
        caller = request.auth
        if not isinstance(caller, ApiCaller):
            return True  # the schema and docs: anonymous, and counted by nobody
        decision = api_request_allow(tenant_id=workspace_id_of(request), client=caller.client)
        setattr(request._request, DECISION_ATTRIBUTE, decision)
        return decision.allowed

    def wait(self) -> float | None:
        return None  # the view reads the decision itself (`throttled`)


def rate_headers(decision: RateDecision) -> dict[str, str]:
    """The IETF RateLimit header fields (draft 7 style, one limit): the binding limit, what is left, when it resets."""
    return {
        "RateLimit-Limit": str(decision.limit),
        "RateLimit-Remaining": str(decision.remaining),
        "RateLimit-Reset": str(decision.reset_after),
        "RateLimit-Policy": f"{decision.limit};w=60",
    }
