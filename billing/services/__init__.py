"""Writes of billing, one module per concern: plans into Stripe, trials, checkout and portal sessions, plan changes,
seats, and the webhook inbox.

Stripe is the truth. Nothing here trusts a webhook's payload or the order events arrive in: an event only names the
customer it is about, and `customer_sync` reads that customer's subscriptions and invoices back from Stripe and
stores what Stripe says now, under a row lock, so whatever the order of events the last sync leaves the right state.
Every Stripe object Atrium creates carries the workspace's id in its metadata (`tenant_id`).
"""

from billing.services.base import LIVE_STATUSES, BillingError, BillingUnavailable, PlanOutgrown, timestamp
from billing.services.cancellation import Cancellation, subscription_cancel
from billing.services.catalog import PORTAL_MARKER, SyncPlansResult, plans_sync, price_id
from billing.services.checkout import (
    TRIAL_EXTENSION_MAX_DAYS,
    checkout_return,
    checkout_start,
    portal_start,
    subscription_change_plan,
    subscription_plan_set,
    subscription_trial_extend,
)
from billing.services.seats import SeatSync, seats_drift_check, seats_mark_changed, seats_sync, seats_sync_due
from billing.services.sync import SyncResult, customer_sync, dunning_check
from billing.services.trial import customer_ensure, trial_start
from billing.services.webhooks import (
    EVENT_MAX_ATTEMPTS,
    HANDLED_EVENTS,
    WEBHOOK_FUTURE_SKEW,
    WEBHOOK_MAX_BYTES,
    WEBHOOK_TOLERANCE,
    ProcessResult,
    WebhookRefused,
    event_refs,
    webhook_event_process,
    webhook_verify,
)

__all__ = [
    "EVENT_MAX_ATTEMPTS",
    "HANDLED_EVENTS",
    "LIVE_STATUSES",
    "PORTAL_MARKER",
    "TRIAL_EXTENSION_MAX_DAYS",
    "WEBHOOK_FUTURE_SKEW",
    "WEBHOOK_MAX_BYTES",
    "WEBHOOK_TOLERANCE",
    "BillingError",
    "BillingUnavailable",
    "Cancellation",
    "PlanOutgrown",
    "ProcessResult",
    "SeatSync",
    "SyncPlansResult",
    "SyncResult",
    "WebhookRefused",
    "checkout_return",
    "checkout_start",
    "customer_ensure",
    "customer_sync",
    "dunning_check",
    "event_refs",
    "plans_sync",
    "portal_start",
    "price_id",
    "seats_drift_check",
    "seats_mark_changed",
    "seats_sync",
    "seats_sync_due",
    "subscription_cancel",
    "subscription_change_plan",
    "subscription_plan_set",
    "subscription_trial_extend",
    "timestamp",
    "trial_start",
    "webhook_event_process",
    "webhook_verify",
]
