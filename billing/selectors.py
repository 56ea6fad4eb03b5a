"""Reads about billing: a workspace's account, invoices and usage; the webhook inbox; what state a subscription
puts a workspace in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from billing.models import BillingAccount, Invoice, SubscriptionStatus, WebhookEvent
from billing.plans import PLANS, Interval, Plan, Resource
from shared_apps.storage import accounting as storage_accounting
from tenants.models import TenantStatus

INVOICES_SHOWN = 12


def account_for(*, tenant_id: int) -> BillingAccount | None:
    return BillingAccount.objects.filter(tenant_id=tenant_id).first()


def invoice_list(*, account: BillingAccount, limit: int = INVOICES_SHOWN) -> list[Invoice]:
    return list(Invoice.objects.filter(account=account).order_by("-created", "-id")[:limit])


def storage_used_bytes(*, schema_name: str) -> int:
    """Bytes of files the workspace stores (confirmed uploads and their thumbnails) plus those reserved by uploads in
    progress: the storage layer's exact accounting (`shared_apps/storage/accounting.py`), one query."""
    return storage_accounting.used_bytes(schema_name)


@dataclass(frozen=True)
class NextInvoice:
    at: datetime
    amount: int  # cents


def next_invoice(account: BillingAccount) -> NextInvoice | None:
    """When the next invoice comes and what it will be, from the plan's price and the seats paid (no call to Stripe;
    prorations from mid-period changes show on the invoice itself)."""
    plan = PLANS.get(account.plan)
    if plan is None or account.status not in (SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE):
        return None
    if account.cancel_at_period_end:
        return None
    at = account.trial_end if account.status == SubscriptionStatus.TRIALING else account.current_period_end
    if at is None:
        return None
    interval = Interval(account.interval) if account.interval in Interval.__members__.values() else Interval.MONTH
    return NextInvoice(at=at, amount=plan.seat_price[interval] * max(account.seats_paid, 1))


# Stripe refuses a Checkout `subscription_data.trial_end` less than 48 hours away.
CHECKOUT_TRIAL_MIN = timedelta(hours=48)


def trial_kept_by_checkout(account: BillingAccount | None, *, now: datetime) -> datetime | None:
    """When a trial in progress ends, if upgrading through Checkout now keeps it (the card is taken today, the first
    charge comes on that date); None when there is no trial, or when it ends within 48 hours (then checkout ends it
    and charges at once)."""
    if account is None or account.status != SubscriptionStatus.TRIALING or account.trial_end is None:
        return None
    return account.trial_end if account.trial_end - now >= CHECKOUT_TRIAL_MIN else None


# Statuses whose subscription is revenue. A past-due one still is while it has a card (a payment being retried); a trial
# that ended without one never was.
_PAYING = frozenset({SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE})


def mrr_cents(*, plan: str, interval: str, seats_paid: int, status: str, card_last4: str) -> int:
    """Monthly recurring revenue of one subscription, in cents: the plan's seat price times the seats (a yearly
    price divided by 12)."""
    found = PLANS.get(plan)
    if found is None or status not in _PAYING or (status == SubscriptionStatus.PAST_DUE and not card_last4):
        return 0
    if interval == Interval.YEAR:
        return round(found.seat_price[Interval.YEAR] * max(seats_paid, 0) / 12)
    return found.seat_price[Interval.MONTH] * max(seats_paid, 0)


def account_mrr_cents(account: BillingAccount) -> int:
    return mrr_cents(
        plan=account.plan,
        interval=account.interval,
        seats_paid=account.seats_paid,
        status=account.status,
        card_last4=account.card_last4,
    )


def workspace_state_for(account: BillingAccount, *, now: datetime) -> str | None:
    """The workspace state the subscription calls for (None: the subscription says nothing about it now)."""
    status = account.status
    if status in (SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE):
        return TenantStatus.ACTIVE
    if status == SubscriptionStatus.PAST_DUE:
        since = account.past_due_since or now
        grace = timedelta(days=settings.BILLING_PAST_DUE_GRACE_DAYS)
        return TenantStatus.READ_ONLY if since + grace <= now else TenantStatus.PAST_DUE
    if status in (SubscriptionStatus.CANCELED, SubscriptionStatus.UNPAID, SubscriptionStatus.INCOMPLETE_EXPIRED):
        return TenantStatus.BILLING_SUSPENDED
    return None  # no subscription yet, incomplete (a first payment in progress), paused


def events_unprocessed(*, received_before: datetime, max_attempts: int) -> list[int]:
    return list(
        WebhookEvent.objects.filter(
            processed_at__isnull=True, received_at__lte=received_before, attempts__lt=max_attempts
        ).values_list("pk", flat=True)[:500]
    )


def plan_choices() -> list[Plan]:
    return sorted(PLANS.values(), key=lambda p: p.rank)


__all__ = ["Resource"]
