"""Ending a workspace's subscription when the workspace is deleted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from billing import stripe_client
from billing.models import SubscriptionStatus
from billing.services.base import LIVE_STATUSES, account_locked, stripe_failed
from shared_apps.accounts.models import User
from tenant_apps.audit.actions import AuditAction
from tenant_apps.audit.services import audit_record
from tenants.models import Tenant


@dataclass(frozen=True)
class Cancellation:
    subscription_id: str
    plan: str
    status_before: str
    paid_until: datetime | None  # the end of the period already paid for (not refunded); None unless active


@transaction.atomic
def subscription_cancel(*, tenant: Tenant, acting_user: User | None, reason: str) -> Cancellation | None:
    """Cancel the workspace's subscription at Stripe now: no further invoices, no proration, no refund of the period
    already paid for (open invoices stop being collected). Returns None when there is nothing alive to cancel.

    Checks nobody: the workspace layer authorizes the deletion that calls it. Run it inside the caller's transaction,
    as its last step that can fail: a Stripe error raises `BillingUnavailable` and the caller's whole change rolls
    back; the webhooks that follow find the same state (`customer_sync`)."""
    account = account_locked(tenant)
    if not account.stripe_subscription_id or account.status not in LIVE_STATUSES:
        return None
    before = account.status
    cancellation = Cancellation(
        subscription_id=account.stripe_subscription_id,
        plan=account.plan,
        status_before=before,
        paid_until=account.current_period_end if before == SubscriptionStatus.ACTIVE else None,
    )
    audit_record(
        tenant=tenant,
        action=AuditAction.BILLING_SUBSCRIPTION_CANCELED,
        actor=acting_user,
        target=tenant,
        metadata={
            "subscription": cancellation.subscription_id,
            "plan": cancellation.plan,
            "from": before,
            "paid_until": cancellation.paid_until.isoformat() if cancellation.paid_until else "",
            "refunded": False,
            "reason": reason,
        },
    )
    try:
        stripe_client.client().v1.subscriptions.cancel(
            cancellation.subscription_id,
            params={"invoice_now": False, "prorate": False, "cancellation_details": {"comment": reason[:500]}},
            options={"idempotency_key": f"atrium-cancel-{cancellation.subscription_id}"},
        )
    except stripe_client.StripeError as exc:
        raise stripe_failed(exc) from exc
    account.status = SubscriptionStatus.CANCELED
    account.cancel_at_period_end = False
    account.save(update_fields=["status", "cancel_at_period_end", "updated_at"])
    return cancellation
