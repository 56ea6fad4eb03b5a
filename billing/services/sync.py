"""Reading a customer back from Stripe: its subscription, card and invoices, stored under a row lock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from billing import stripe_client
from billing.models import BillingAccount, Invoice, SubscriptionChange, SubscriptionStatus
from billing.plans import plan_for_lookup_key
from billing.selectors import account_mrr_cents
from billing.services.base import LIVE_STATUSES, account_locked, stripe_field, timestamp
from billing.signals import subscription_synced
from tenants.models import Tenant


@dataclass
class SyncResult:
    tenant_id: int | None
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    note: str = ""


def _current_subscription(subscriptions: list[Any]) -> Any:
    """The workspace's subscription: the newest that is still alive, else the newest (all ended). Made in the same
    second, a paying one wins, then one with a card (Checkout's, which keeps the trial, over the trial's own)."""
    rank = {SubscriptionStatus.ACTIVE: 3, SubscriptionStatus.PAST_DUE: 2, SubscriptionStatus.UNPAID: 1}
    ordered = sorted(
        subscriptions,
        key=lambda s: (
            int(stripe_field(s, "created", 0)),
            rank.get(stripe_field(s, "status"), 0),
            bool(stripe_field(s, "default_payment_method")),
            str(s["id"]),
        ),
        reverse=True,
    )
    alive = [s for s in ordered if stripe_field(s, "status") in LIVE_STATUSES]
    return alive[0] if alive else (ordered[0] if ordered else None)


def _supersede(client: Any, current: Any, subscriptions: list[Any]) -> None:
    """A paid subscription made through Checkout replaces the trial's: cancel older live ones (idempotent)."""
    if stripe_field(current, "status") not in (SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING):
        return
    for sub in subscriptions:
        if sub["id"] != current["id"] and stripe_field(sub, "status") in LIVE_STATUSES:
            client.v1.subscriptions.cancel(sub["id"], options={"idempotency_key": f"atrium-supersede-{sub['id']}"})


def _account_for_customer(client: Any, customer_id: str) -> BillingAccount | None:
    account = BillingAccount.objects.select_for_update().filter(stripe_customer_id=customer_id).first()
    if account is not None:
        return account
    try:
        customer = client.v1.customers.retrieve(customer_id)
    except stripe_client.stripe.InvalidRequestError as exc:
        if exc.http_status == 404:
            return None  # not a customer of this Stripe account: nothing of ours to sync
        raise
    tenant_id = stripe_field(stripe_field(customer, "metadata", {}), "tenant_id")
    if not tenant_id or not str(tenant_id).isdigit() or not Tenant.objects.filter(pk=int(tenant_id)).exists():
        return None
    account = account_locked(Tenant.objects.get(pk=int(tenant_id)))
    if account.stripe_customer_id and account.stripe_customer_id != customer_id:
        return None  # another customer already is this workspace's: never let a second one take over
    account.stripe_customer_id = customer_id
    return account


def customer_sync(*, customer_id: str, now: datetime | None = None) -> SyncResult:
    """Read a customer's subscriptions, card and invoices back from Stripe and store them; then the workspace layer
    applies the state (signal `subscription_synced`, in this transaction)."""
    now = now or timezone.now()
    client = stripe_client.client()
    with transaction.atomic():
        account = _account_for_customer(client, customer_id)
        if account is None:
            return SyncResult(tenant_id=None, note=f"customer {customer_id} belongs to no workspace")
        subscriptions = list(
            client.v1.subscriptions.list(params={"customer": customer_id, "status": "all", "limit": 100}).data
        )
        current = _current_subscription(subscriptions)
        if current is not None:
            _supersede(client, current, subscriptions)
        customer = client.v1.customers.retrieve(customer_id)
        invoices = list(client.v1.invoices.list(params={"customer": customer_id, "limit": 24}).data)
        before = {
            f: getattr(account, f)
            for f in (
                "stripe_subscription_id",
                "plan",
                "interval",
                "status",
                "seats_paid",
                "trial_end",
                "past_due_since",
            )
        }
        previous_status, previous_plan = account.status, account.plan
        mrr_before = account_mrr_cents(account)
        ledger_before = (account.status, account.plan, mrr_before)
        _apply_subscription(account, current, invoices)
        pm_id = stripe_field(stripe_field(customer, "invoice_settings", {}), "default_payment_method")
        account.card_last4 = _card_last4(client, pm_id) if pm_id else ""
        account.synced_at = now
        account.save()
        _store_invoices(account, invoices)
        mrr_after = account_mrr_cents(account)
        if ledger_before != (account.status, account.plan, mrr_after):
            SubscriptionChange.objects.create(
                tenant_id=account.tenant_id,
                at=now,
                from_status=previous_status,
                to_status=account.status,
                from_plan=previous_plan,
                to_plan=account.plan,
                mrr_before=mrr_before,
                mrr_after=mrr_after,
            )
        changes = {f: (v, getattr(account, f)) for f, v in before.items() if getattr(account, f) != v}
        subscription_synced.send(
            sender=BillingAccount,
            account=account,
            previous_status=previous_status,
            previous_plan=previous_plan,
            now=now,
        )
        return SyncResult(tenant_id=account.tenant_id, changes=changes)


def _card_last4(client: Any, pm_id: str) -> str:
    try:
        pm = client.v1.payment_methods.retrieve(pm_id)
    except stripe_client.StripeError:
        return ""
    return str(stripe_field(stripe_field(pm, "card", {}), "last4", ""))


def _apply_subscription(account: BillingAccount, current: Any, invoices: list[Any]) -> None:
    if current is None:
        account.stripe_subscription_id = ""
        account.status = SubscriptionStatus.NONE
        return
    item = current["items"]["data"][0]
    price = item["price"]
    found = plan_for_lookup_key(stripe_field(price, "lookup_key"))
    account.stripe_subscription_id = str(current["id"])
    if found is not None:
        account.plan, account.interval = found[0].code, str(found[1])
    status = str(stripe_field(current, "status", SubscriptionStatus.NONE))
    account.status = status if status in SubscriptionStatus.values else SubscriptionStatus.NONE
    account.seats_paid = int(stripe_field(item, "quantity", 0))
    account.trial_end = timestamp(stripe_field(current, "trial_end"))
    account.current_period_end = timestamp(
        stripe_field(item, "current_period_end") or stripe_field(current, "current_period_end")
    )
    account.cancel_at_period_end = bool(stripe_field(current, "cancel_at_period_end", False))
    failed = [
        int(stripe_field(inv, "created", 0))
        for inv in invoices
        if stripe_field(inv, "status") == "open"
        and int(stripe_field(inv, "attempt_count", 0)) > 0
        and _invoice_subscription(inv) == account.stripe_subscription_id
    ]
    account.past_due_since = timestamp(min(failed)) if status == SubscriptionStatus.PAST_DUE and failed else None


def _invoice_subscription(invoice: Any) -> str:
    details = stripe_field(stripe_field(invoice, "parent", {}), "subscription_details", {})
    return str(stripe_field(details, "subscription", "") or stripe_field(invoice, "subscription", ""))


def _store_invoices(account: BillingAccount, invoices: list[Any]) -> None:
    for inv in invoices:
        if not stripe_field(inv, "id") or stripe_field(inv, "status") == "draft":
            continue
        Invoice.objects.update_or_create(
            stripe_invoice_id=str(inv["id"]),
            defaults={
                "account": account,
                "number": str(stripe_field(inv, "number", ""))[:64],
                "status": str(stripe_field(inv, "status", ""))[:24],
                "amount_due": int(stripe_field(inv, "amount_due", 0)),
                "amount_paid": int(stripe_field(inv, "amount_paid", 0)),
                "currency": str(stripe_field(inv, "currency", "usd"))[:8],
                "hosted_invoice_url": str(stripe_field(inv, "hosted_invoice_url", ""))[:500],
                "created": timestamp(stripe_field(inv, "created")) or timezone.now(),
            },
        )


def dunning_check(*, now: datetime | None = None) -> int:
    """Past-due workspaces whose grace period is over become read-only: the state is applied again at `now` (beat,
    hourly; tests pass the test clock's time). Returns how many were checked."""
    now = now or timezone.now()
    checked = 0
    for account in BillingAccount.objects.filter(status=SubscriptionStatus.PAST_DUE).values_list("pk", flat=True):
        with transaction.atomic():
            locked = BillingAccount.objects.select_for_update().select_related("tenant").get(pk=account)
            subscription_synced.send(
                sender=BillingAccount, account=locked, previous_status=locked.status, previous_plan=locked.plan, now=now
            )
        checked += 1
    return checked
