"""Billing records (public schema): each workspace's account with Stripe, its invoices, and the webhook inbox.

What Stripe says is the truth; these rows are the last state read back from Stripe (never from a webhook's payload),
kept so that pages, limits and the workspace's state need no call to Stripe.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _


class SubscriptionStatus(models.TextChoices):
    NONE = "none", _("No subscription")
    TRIALING = "trialing", _("Trial")
    ACTIVE = "active", _("Active")
    PAST_DUE = "past_due", _("Past due")
    UNPAID = "unpaid", _("Unpaid")
    CANCELED = "canceled", _("Canceled")
    INCOMPLETE = "incomplete", _("Incomplete")
    INCOMPLETE_EXPIRED = "incomplete_expired", _("Incomplete (expired)")
    PAUSED = "paused", _("Paused")


class BillingAccount(models.Model):
    """A workspace's customer and current subscription at Stripe."""

    tenant = models.OneToOneField("tenants.Tenant", on_delete=models.CASCADE, related_name="billing_account")
    stripe_customer_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    stripe_subscription_id = models.CharField(max_length=64, blank=True)
    plan = models.CharField(max_length=32, blank=True)
    interval = models.CharField(max_length=8, blank=True)
    status = models.CharField(max_length=24, choices=SubscriptionStatus.choices, default=SubscriptionStatus.NONE)
    seats_paid = models.PositiveIntegerField(default=0)  # the subscription's quantity at Stripe
    trial_end = models.DateTimeField(null=True, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    past_due_since = models.DateTimeField(null=True, blank=True)  # the first failed payment of the open invoice
    card_last4 = models.CharField(max_length=4, blank=True)
    # Seat sync, debounced: every member or invitation change bumps the version; the sync runs once it is due.
    seats_version = models.PositiveIntegerField(default=0)
    seats_sync_due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    seats_synced_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)  # last read back from Stripe
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"billing of tenant {self.tenant_id}"


class Invoice(models.Model):
    """An invoice as Stripe last reported it, with the hosted page the customer pays or downloads it on."""

    account = models.ForeignKey(BillingAccount, on_delete=models.CASCADE, related_name="invoices")
    stripe_invoice_id = models.CharField(max_length=64, unique=True)
    number = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=24)
    amount_due = models.BigIntegerField(default=0)
    amount_paid = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=8, default="usd")
    hosted_invoice_url = models.URLField(max_length=500, blank=True)
    created = models.DateTimeField()

    class Meta:
        ordering: ClassVar = ["-created", "-id"]

    def __str__(self) -> str:
        return self.number or self.stripe_invoice_id


class WebhookEvent(models.Model):
    """Stripe's events as received: the inbox the processing task works from (unique on Stripe's event id)."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100, db_index=True)
    created = models.DateTimeField(db_index=True)  # Stripe's time for the event
    livemode = models.BooleanField(default=False)
    tenant_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    customer_id = models.CharField(max_length=64, blank=True)
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering: ClassVar = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class SubscriptionChange(models.Model):
    """The MRR ledger: one row each time a workspace's subscription changes status, plan, interval, seats or card, as
    read back from Stripe (`customer_sync`). Trials started, conversions and churn are read from it, and the MRR on
    any past day is today's minus the changes since. Outlives the workspace (no foreign key), so the platform's
    history does not shrink when one is purged."""

    tenant_id = models.BigIntegerField(db_index=True)
    at = models.DateTimeField(db_index=True)
    from_status = models.CharField(max_length=24, blank=True)
    to_status = models.CharField(max_length=24, blank=True)
    from_plan = models.CharField(max_length=32, blank=True)
    to_plan = models.CharField(max_length=32, blank=True)
    mrr_before = models.BigIntegerField(default=0)  # cents per month
    mrr_after = models.BigIntegerField(default=0)

    class Meta:
        ordering: ClassVar = ["-at", "-id"]

    def __str__(self) -> str:
        return f"tenant {self.tenant_id}: {self.from_status}→{self.to_status} at {self.at:%Y-%m-%d}"

    @property
    def trial_started(self) -> bool:
        return self.to_status == SubscriptionStatus.TRIALING and self.from_status != SubscriptionStatus.TRIALING

    @property
    def trial_ended(self) -> bool:
        return self.from_status == SubscriptionStatus.TRIALING and self.to_status != SubscriptionStatus.TRIALING

    @property
    def converted(self) -> bool:
        """A trial that became a paying subscription."""
        return self.trial_ended and self.mrr_after > 0

    @property
    def churned(self) -> bool:
        """Revenue that stopped: a paying subscription canceled, unpaid, or moved to a free plan."""
        return self.mrr_before > 0 and self.mrr_after == 0
