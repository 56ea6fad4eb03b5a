"""Seats: debounced, one update per burst, and a drift check against Stripe."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from billing import stripe_client
from billing.models import BillingAccount, SubscriptionStatus
from billing.services.base import LIVE_STATUSES, BillingUnavailable, stripe_failed, stripe_field
from shared_apps.accounts.selectors import seats_used

logger = logging.getLogger(__name__)


def seats_mark_changed(*, tenant_id: int, now: datetime | None = None) -> bool:
    """Note that the workspace's seats changed: the sync becomes due BILLING_SEAT_SYNC_DEBOUNCE seconds after the
    first change of a burst (later changes of the burst do not push it back). False for a workspace billing does not
    know."""
    now = now or timezone.now()
    due = now + timedelta(seconds=settings.BILLING_SEAT_SYNC_DEBOUNCE)
    return bool(
        BillingAccount.objects.filter(tenant_id=tenant_id)
        .exclude(stripe_subscription_id="")
        .update(seats_version=F("seats_version") + 1, seats_sync_due_at=Coalesce(F("seats_sync_due_at"), due))
    )


@dataclass(frozen=True)
class SeatSync:
    pushed: bool
    quantity: int
    previous: int


def seats_sync(*, tenant_id: int, now: datetime | None = None, force: bool = False) -> SeatSync | None:
    """Push the seat count to Stripe if the sync is due (or `force`): one update, with an idempotency key per change
    version, so a retried task never applies a change twice. None when not due or nothing to sync."""
    now = now or timezone.now()
    with transaction.atomic():
        account = BillingAccount.objects.select_for_update().filter(tenant_id=tenant_id).first()
        if account is None or not account.stripe_subscription_id:
            return None
        if not force and (account.seats_sync_due_at is None or account.seats_sync_due_at > now):
            return None
        quantity = max(seats_used(tenant_id=tenant_id), 1)
        client = stripe_client.client()
        try:
            sub = client.v1.subscriptions.retrieve(account.stripe_subscription_id)
            item = sub["items"]["data"][0]
            previous = int(item["quantity"])
            pushed = False
            if previous != quantity and stripe_field(sub, "status") in LIVE_STATUSES:
                client.v1.subscriptions.update(
                    account.stripe_subscription_id,
                    params={
                        "items": [{"id": item["id"], "quantity": quantity}],
                        "proration_behavior": "create_prorations",
                    },
                    options={
                        "idempotency_key": f"atrium-seats-{account.stripe_subscription_id}-{account.seats_version}"
                    },
                )
                pushed = True
        except stripe_client.StripeError as exc:
            raise stripe_failed(exc) from exc
        account.seats_paid = quantity if pushed else previous
        account.seats_sync_due_at = None
        account.seats_synced_at = now
        account.save(update_fields=["seats_paid", "seats_sync_due_at", "seats_synced_at", "updated_at"])
    return SeatSync(pushed=pushed, quantity=quantity, previous=previous)


def seats_sync_due(*, now: datetime | None = None) -> int:
    """Sync every workspace whose seat sync is due (beat, every 15 s: the safety net behind the delayed task)."""
    now = now or timezone.now()
    done = 0
    for tenant_id in BillingAccount.objects.filter(seats_sync_due_at__lte=now).values_list("tenant_id", flat=True):
        try:
            if seats_sync(tenant_id=tenant_id, now=now):
                done += 1
        except BillingUnavailable:
            logger.warning("seat sync failed; retried on the next sweep", extra={"tenant_id": tenant_id})
    return done


def seats_drift_check() -> list[dict[str, int]]:
    """Nightly: compare every subscription's quantity at Stripe with the seats used; log and re-sync each drift."""
    drifts = []
    client = stripe_client.client()
    for account in BillingAccount.objects.exclude(stripe_subscription_id="").exclude(
        status=SubscriptionStatus.CANCELED
    ):
        try:
            sub = client.v1.subscriptions.retrieve(account.stripe_subscription_id)
        except stripe_client.StripeError:
            logger.warning("drift check could not read a subscription", extra={"tenant_id": account.tenant_id})
            continue
        at_stripe = int(sub["items"]["data"][0]["quantity"])
        used = max(seats_used(tenant_id=account.tenant_id), 1)
        if at_stripe != used and stripe_field(sub, "status") in LIVE_STATUSES:
            logger.warning(
                "seat drift", extra={"tenant_id": account.tenant_id, "stripe_quantity": at_stripe, "seats_used": used}
            )
            drifts.append({"tenant_id": account.tenant_id, "stripe": at_stripe, "used": used})
            seats_mark_changed(tenant_id=account.tenant_id, now=timezone.now() - timedelta(days=1))
    return drifts
