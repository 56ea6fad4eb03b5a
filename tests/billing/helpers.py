"""Billing test helpers: a workspace on a trial at the local Stripe server, event delivery, a test clock."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from django.test import Client

from billing import services, stripe_client
from billing.models import BillingAccount
from tenants.models import Tenant
from tests.stripe_fixtures import LocalStripe

DAY = 86_400
WEBHOOK = "/billing/webhooks/stripe/"


def stripe() -> Any:
    return stripe_client.client()


def deliver(
    public_client: Client, local: LocalStripe, *, order: str = "sent", types: set[str] | None = None
) -> list[Any]:
    """POST every event the server signed since the last delivery to the webhook endpoint, with its signature."""
    events = local.new_events()
    if types is not None:
        events = [e for e in events if e["type"] in types]
    if order == "reversed":
        events = list(reversed(events))
    responses = []
    for event in events:
        response = public_client.post(
            WEBHOOK, data=event["payload"], content_type="application/json", HTTP_STRIPE_SIGNATURE=event["signature"]
        )
        assert response.status_code == 200, response.content
        responses.append(response)
    return responses


class Clock:
    """A Stripe test clock and the time it shows: `advance(days=…)` moves Stripe's time (trial ends, renewals,
    payment retries happen at the local server), delivers the events it produced, and runs the hourly dunning
    check at that time."""

    def __init__(self, public_client: Client, local: LocalStripe, capture: Any) -> None:
        self.client = public_client
        self.local = local
        self.capture = capture
        self.frozen = int(time.time())
        self.id = str(stripe().v1.test_helpers.test_clocks.create(params={"frozen_time": self.frozen}).id)

    @property
    def now(self) -> datetime:
        return datetime.fromtimestamp(self.frozen, tz=UTC)

    def advance(self, *, days: float) -> None:
        self.frozen += int(days * DAY)
        stripe().v1.test_helpers.test_clocks.advance(self.id, params={"frozen_time": self.frozen})
        with self.capture(execute=True):
            deliver(self.client, self.local)
        with self.capture(execute=True):
            services.dunning_check(now=self.now)


def start_trial(tenant: Tenant, local: LocalStripe, capture: Any, *, clock: Clock | None = None) -> BillingAccount:
    local.skip_pending()
    with capture(execute=True):
        account = services.trial_start(tenant=tenant, test_clock=clock.id if clock else None)
    local.skip_pending()
    return account


def add_card(account: BillingAccount, token: str = "tok_visa") -> None:  # noqa: S107  (a test card token)
    client = stripe()
    pm = client.v1.payment_methods.create(params={"type": "card", "card": {"token": token}})
    client.v1.payment_methods.attach(pm.id, params={"customer": account.stripe_customer_id})
    client.v1.customers.update(
        str(account.stripe_customer_id), params={"invoice_settings": {"default_payment_method": pm.id}}
    )


def subscription_updates(local: LocalStripe, subscription_id: str, since: int = 0) -> list[dict[str, Any]]:
    return [
        r
        for r in local.requests_log()[since:]
        if r["method"] == "POST" and r["path"] == f"/v1/subscriptions/{subscription_id}"
    ]
