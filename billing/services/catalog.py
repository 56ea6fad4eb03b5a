"""Plans → Stripe: products, prices and the Customer Portal's configuration."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from billing import stripe_client
from billing.plans import PLANS, Interval, Plan
from billing.services.base import BillingError


@dataclass
class SyncPlansResult:
    created: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    portal_configuration: str = ""


def plans_sync() -> SyncPlansResult:
    """Make Stripe's products and prices match `billing.plans` (idempotent: found again by lookup key; a changed
    amount makes a new price that takes the lookup key over, since Stripe prices cannot change)."""
    client = stripe_client.client()
    result = SyncPlansResult()
    existing = {
        p["lookup_key"]: p
        for p in client.v1.prices.list(
            params={"lookup_keys": [plan.lookup_key(i) for plan in PLANS.values() for i in Interval], "limit": 100}
        ).data
    }
    for plan in PLANS.values():
        product_id = f"atrium_{plan.code}"
        try:
            client.v1.products.retrieve(product_id)
            client.v1.products.update(
                product_id, params={"name": f"Atrium {plan.name}", "metadata": {"plan": plan.code}}
            )
        except stripe_client.stripe.InvalidRequestError:
            client.v1.products.create(
                params={"id": product_id, "name": f"Atrium {plan.name}", "metadata": {"plan": plan.code}}
            )
        for interval in Interval:
            key = plan.lookup_key(interval)
            price = existing.get(key)
            amount = plan.seat_price[interval]
            if price is not None and price["unit_amount"] == amount and price["product"] == product_id:
                result.unchanged.append(key)
                continue
            client.v1.prices.create(
                params={
                    "product": product_id,
                    "unit_amount": amount,
                    "currency": "usd",
                    "recurring": {"interval": str(interval)},
                    "lookup_key": key,
                    "transfer_lookup_key": True,
                    "nickname": f"{plan.name} ({interval}ly, per seat)",
                    "metadata": {"plan": plan.code, "interval": str(interval)},
                }
            )
            result.created.append(key)
    _price_ids.clear()
    result.portal_configuration = _portal_configuration_sync(client)
    return result


def _portal_configuration_sync(client: stripe_client.stripe.StripeClient) -> str:
    """The Customer Portal's configuration, offering every plan's prices; returns its id."""
    portal: dict[str, Any] = {
        "business_profile": {"headline": "Atrium billing"},
        "features": {
            "payment_method_update": {"enabled": True},
            "invoice_history": {"enabled": True},
            "subscription_cancel": {"enabled": True, "mode": "at_period_end"},
            "subscription_update": {
                "enabled": True,
                "default_allowed_updates": ["price"],
                "proration_behavior": "create_prorations",
                "products": [
                    {
                        "product": f"atrium_{plan.code}",
                        "prices": [
                            p.id
                            for p in client.v1.prices.list(
                                params={"lookup_keys": [plan.lookup_key(i) for i in Interval]}
                            ).data
                        ],
                    }
                    for plan in PLANS.values()
                ],
            },
        },
    }
    portal["metadata"] = {PORTAL_MARKER: "1"}
    # One configuration, kept up to date: a later sync updates the one it made rather than adding another.
    ours = [
        c
        for c in client.v1.billing_portal.configurations.list(params={"active": True, "limit": 100}).data
        if c.metadata and PORTAL_MARKER in c.metadata
    ]
    if ours:
        config = client.v1.billing_portal.configurations.update(ours[0].id, params=portal)  # type: ignore[arg-type]
    else:
        config = client.v1.billing_portal.configurations.create(params=portal)  # type: ignore[arg-type]
    return str(config.id)


# Metadata key marking the Customer Portal configuration `plans_sync` manages.
PORTAL_MARKER = "atrium_plans"

_price_ids: dict[str, str] = {}


def price_id(plan: Plan, interval: Interval) -> str:
    """The Stripe price of a plan and interval, by lookup key (remembered per process)."""
    key = plan.lookup_key(interval)
    if key not in _price_ids:
        found = stripe_client.client().v1.prices.list(params={"lookup_keys": [key], "limit": 1}).data
        if not found:
            raise BillingError(
                _("Stripe has no price %(key)s: run `manage.py billing sync-plans` first.") % {"key": key}
            )
        _price_ids[key] = str(found[0].id)
    return _price_ids[key]
