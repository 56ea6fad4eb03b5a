"""Billing's pages on the root domain: the pricing page, and Stripe's webhook endpoint."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing import inbox, services
from billing.formatting import limit_text, money_text
from billing.plans import PLANS, Interval, Resource
from shared_apps.core.http import LengthInvalid, declared_length


def pricing(request: HttpRequest) -> HttpResponse:
    plans = []
    for plan in sorted(PLANS.values(), key=lambda p: p.rank):
        plans.append(
            {
                "plan": plan,
                "monthly": money_text(plan.seat_price[Interval.MONTH], decimals=0),
                "yearly_per_month": money_text(plan.seat_price[Interval.YEAR] / 12, decimals=0),
                "limits": [
                    {
                        "text": limit_text(r, plan.limit(r)),
                        "soft": not plan.limit(r).hard and plan.limit(r).value is not None,
                    }
                    for r in Resource
                ],
            }
        )
    return render(request, "public/pricing.html", {"plans": plans})


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    """Verify, store once, answer: processing happens in a task that reads the objects back from Stripe."""
    try:
        declared = declared_length(request)
    except LengthInvalid as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    if (declared or 0) > services.WEBHOOK_MAX_BYTES:
        return JsonResponse({"error": "The event is larger than any Stripe event."}, status=413)
    try:
        event = services.webhook_verify(payload=request.body, header=request.headers.get("Stripe-Signature", ""))
    except services.WebhookRefused as exc:
        return JsonResponse({"error": exc.message}, status=400)
    _row, created = inbox.webhook_store(event)
    return JsonResponse({"received": True, "duplicate": not created})
