"""Writes of billing: plans into Stripe, trials, checkout and portal sessions, plan changes, seats, and the webhook
inbox.

Stripe is the truth. Nothing here trusts a webhook's payload or the order events arrive in: an event only names the
customer it is about, and `customer_sync` reads that customer's subscriptions and invoices back from Stripe and
stores what Stripe says now, under a row lock, so whatever the order of events the last sync leaves the right state.
Every Stripe object Atrium creates carries the workspace's id in its metadata (`tenant_id`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from billing import stripe_client
from billing.models import BillingAccount, Invoice, SubscriptionChange, SubscriptionStatus, WebhookEvent
from billing.plans import PLANS, TRIAL_PLAN, Interval, Plan, plan_for_lookup_key
from billing.selectors import account_mrr_cents
from billing.signals import subscription_synced
from shared_apps.accounts.models import Membership, Role, User
from shared_apps.accounts.permissions import Action, require
from shared_apps.accounts.selectors import seats_used
from shared_apps.accounts.services.members import role_of
from shared_apps.core.errors import ApplicationError
from shared_apps.core.jsonsafe import json_depth_check
from tenant_apps.audit.actions import AuditAction
from tenant_apps.audit.services import audit_record
from tenants.models import Tenant

logger = logging.getLogger(__name__)

WEBHOOK_TOLERANCE = 300  # seconds: older signatures are refused (replays)
WEBHOOK_FUTURE_SKEW = 30  # seconds of clock difference tolerated before a timestamp counts as "from the future"
WEBHOOK_MAX_BYTES = 512 * 1024
EVENT_MAX_ATTEMPTS = 12
TRIAL_EXTENSION_MAX_DAYS = 90
LIVE_STATUSES = frozenset(
    {
        SubscriptionStatus.TRIALING,
        SubscriptionStatus.ACTIVE,
        SubscriptionStatus.PAST_DUE,
        SubscriptionStatus.UNPAID,
        SubscriptionStatus.INCOMPLETE,
        SubscriptionStatus.PAUSED,
    }
)
HANDLED_EVENTS = frozenset(
    {
        "checkout.session.completed",
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "invoice.paid",
        "invoice.payment_failed",
        "customer.updated",
    }
)


class BillingError(ApplicationError):
    """Something about billing that cannot be done as asked (the message says why)."""


class BillingUnavailable(BillingError):
    """Stripe did not answer, or answered with an error."""


class PlanOutgrown(BillingError):
    """The workspace uses more than the plan it asked for allows."""


def _stripe_failed(exc: Exception) -> BillingUnavailable:
    logger.warning("stripe call failed", extra={"error": repr(exc)})
    return BillingUnavailable(
        "The payment provider did not answer as expected. Nothing was changed; try again in a minute."
    )


def timestamp(value: Any) -> datetime | None:
    """Stripe's Unix timestamps as aware datetimes (None for none)."""
    return _ts(value)


def _ts(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), tz=UTC) if value else None


def _get(obj: Any, key: str, default: Any = None) -> Any:
    try:
        value = obj[key]
    except (KeyError, TypeError, IndexError):
        return default
    return default if value is None else value


# ---------------------------------------------------------------------------------------------------------------------
# Plans → Stripe
# ---------------------------------------------------------------------------------------------------------------------


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
    result.portal_configuration = str(config.id)
    return result


# Metadata key marking the Customer Portal configuration `plans_sync` manages.
PORTAL_MARKER = "atrium_plans"

_price_ids: dict[str, str] = {}


def price_id(plan: Plan, interval: Interval) -> str:
    """The Stripe price of a plan and interval, by lookup key (remembered per process)."""
    key = plan.lookup_key(interval)
    if key not in _price_ids:
        found = stripe_client.client().v1.prices.list(params={"lookup_keys": [key], "limit": 1}).data
        if not found:
            raise BillingError(f"Stripe has no price {key}: run `manage.py billing sync-plans` first.")
        _price_ids[key] = str(found[0].id)
    return _price_ids[key]


# ---------------------------------------------------------------------------------------------------------------------
# Trial
# ---------------------------------------------------------------------------------------------------------------------


def _owner_email(tenant: Tenant) -> str:
    owner = (
        Membership.objects.filter(tenant=tenant, role=Role.OWNER).select_related("user").order_by("created_at").first()
    )
    return owner.user.email if owner else ""


def _account_locked(tenant: Tenant) -> BillingAccount:
    BillingAccount.objects.get_or_create(tenant=tenant)
    return BillingAccount.objects.select_for_update().get(tenant=tenant)


def customer_ensure(account: BillingAccount, *, test_clock: str | None = None) -> str:
    if account.stripe_customer_id:
        return account.stripe_customer_id
    tenant = account.tenant
    params: dict[str, Any] = {
        "name": tenant.name,
        "email": _owner_email(tenant) or None,
        "metadata": {"tenant_id": str(tenant.pk), "schema": tenant.schema_name},
    }
    if test_clock:
        params["test_clock"] = test_clock
    customer = stripe_client.client().v1.customers.create(
        params=params,  # type: ignore[arg-type]  # a TypedDict built in steps options={"idempotency_key": f"atrium-customer-{tenant.pk}-{account.pk}"}
    )
    account.stripe_customer_id = str(customer.id)
    account.save(update_fields=["stripe_customer_id", "updated_at"])
    return account.stripe_customer_id


def trial_start(*, tenant: Tenant, test_clock: str | None = None) -> BillingAccount:
    """Start the trial plan's trial, without a card (idempotent: a workspace with a subscription keeps it)."""
    plan = PLANS[TRIAL_PLAN]
    try:
        with transaction.atomic():
            account = _account_locked(tenant)
            if account.stripe_subscription_id:
                return account
            customer_id = customer_ensure(account, test_clock=test_clock)
            stripe_client.client().v1.subscriptions.create(
                params={
                    "customer": customer_id,
                    "items": [
                        {"price": price_id(plan, Interval.MONTH), "quantity": max(seats_used(tenant_id=tenant.pk), 1)}
                    ],
                    "trial_period_days": plan.trial_days,
                    "metadata": {"tenant_id": str(tenant.pk)},
                },
                options={"idempotency_key": f"atrium-trial-{tenant.pk}-{account.pk}-{customer_id}"},
            )
            audit_record(
                tenant=tenant,
                action=AuditAction.BILLING_TRIAL_STARTED,
                actor=None,
                target=tenant,
                metadata={"plan": plan.code, "days": plan.trial_days},
            )
        customer_sync(customer_id=customer_id)
    except stripe_client.StripeError as exc:
        raise _stripe_failed(exc) from exc
    return BillingAccount.objects.get(tenant=tenant)


# ---------------------------------------------------------------------------------------------------------------------
# Reading a customer back from Stripe
# ---------------------------------------------------------------------------------------------------------------------


@dataclass
class SyncResult:
    tenant_id: int | None
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    note: str = ""


def _current_subscription(subscriptions: list[Any]) -> Any:
    """The workspace's subscription: the newest that is still alive, else the newest (all ended)."""
    rank = {SubscriptionStatus.ACTIVE: 3, SubscriptionStatus.PAST_DUE: 2, SubscriptionStatus.UNPAID: 1}
    ordered = sorted(
        subscriptions,
        key=lambda s: (int(_get(s, "created", 0)), rank.get(_get(s, "status"), 0), str(s["id"])),
        reverse=True,
    )
    alive = [s for s in ordered if _get(s, "status") in LIVE_STATUSES]
    return alive[0] if alive else (ordered[0] if ordered else None)


def _supersede(client: Any, current: Any, subscriptions: list[Any]) -> None:
    """A paid subscription made through Checkout replaces the trial's: cancel older live ones (idempotent)."""
    if _get(current, "status") not in (SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING):
        return
    for sub in subscriptions:
        if sub["id"] != current["id"] and _get(sub, "status") in LIVE_STATUSES:
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
    tenant_id = _get(_get(customer, "metadata", {}), "tenant_id")
    if not tenant_id or not str(tenant_id).isdigit() or not Tenant.objects.filter(pk=int(tenant_id)).exists():
        return None
    account = _account_locked(Tenant.objects.get(pk=int(tenant_id)))
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
        pm_id = _get(_get(customer, "invoice_settings", {}), "default_payment_method")
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
    return str(_get(_get(pm, "card", {}), "last4", ""))


def _apply_subscription(account: BillingAccount, current: Any, invoices: list[Any]) -> None:
    if current is None:
        account.stripe_subscription_id = ""
        account.status = SubscriptionStatus.NONE
        return
    item = current["items"]["data"][0]
    price = item["price"]
    found = plan_for_lookup_key(_get(price, "lookup_key"))
    account.stripe_subscription_id = str(current["id"])
    if found is not None:
        account.plan, account.interval = found[0].code, str(found[1])
    status = str(_get(current, "status", SubscriptionStatus.NONE))
    account.status = status if status in SubscriptionStatus.values else SubscriptionStatus.NONE
    account.seats_paid = int(_get(item, "quantity", 0))
    account.trial_end = _ts(_get(current, "trial_end"))
    account.current_period_end = _ts(_get(item, "current_period_end") or _get(current, "current_period_end"))
    account.cancel_at_period_end = bool(_get(current, "cancel_at_period_end", False))
    failed = [
        int(_get(inv, "created", 0))
        for inv in invoices
        if _get(inv, "status") == "open"
        and int(_get(inv, "attempt_count", 0)) > 0
        and _invoice_subscription(inv) == account.stripe_subscription_id
    ]
    account.past_due_since = _ts(min(failed)) if status == SubscriptionStatus.PAST_DUE and failed else None


def _invoice_subscription(invoice: Any) -> str:
    details = _get(_get(invoice, "parent", {}), "subscription_details", {})
    return str(_get(details, "subscription", "") or _get(invoice, "subscription", ""))


def _store_invoices(account: BillingAccount, invoices: list[Any]) -> None:
    for inv in invoices:
        if not _get(inv, "id") or _get(inv, "status") == "draft":
            continue
        Invoice.objects.update_or_create(
            stripe_invoice_id=str(inv["id"]),
            defaults={
                "account": account,
                "number": str(_get(inv, "number", ""))[:64],
                "status": str(_get(inv, "status", ""))[:24],
                "amount_due": int(_get(inv, "amount_due", 0)),
                "amount_paid": int(_get(inv, "amount_paid", 0)),
                "currency": str(_get(inv, "currency", "usd"))[:8],
                "hosted_invoice_url": str(_get(inv, "hosted_invoice_url", ""))[:500],
                "created": _ts(_get(inv, "created")) or timezone.now(),
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


# ---------------------------------------------------------------------------------------------------------------------
# Checkout, portal, plan changes (owners)
# ---------------------------------------------------------------------------------------------------------------------


def _require_owner(tenant: Tenant, acting_user: User) -> None:
    require(role_of(tenant_id=tenant.pk, user=acting_user), Action.BILLING_MANAGE, "Only owners manage billing.")


def checkout_start(
    *, tenant: Tenant, plan: Plan, interval: Interval, acting_user: User, success_url: str, cancel_url: str
) -> str:
    """A Stripe Checkout page for `plan`: the card is entered there, and the subscription it makes replaces the
    trial's (`_supersede`). Returns its URL."""
    _require_owner(tenant, acting_user)
    try:
        with transaction.atomic():
            account = _account_locked(tenant)
            customer_id = customer_ensure(account)
        session = stripe_client.client().v1.checkout.sessions.create(
            params={
                "mode": "subscription",
                "customer": customer_id,
                "client_reference_id": str(tenant.pk),
                "line_items": [
                    {"price": price_id(plan, interval), "quantity": max(seats_used(tenant_id=tenant.pk), 1)}
                ],
                "metadata": {"tenant_id": str(tenant.pk), "plan": plan.code},
                "subscription_data": {"metadata": {"tenant_id": str(tenant.pk)}},
                "success_url": success_url,
                "cancel_url": cancel_url,
            }
        )
    except stripe_client.StripeError as exc:
        raise _stripe_failed(exc) from exc
    return str(session.url)


def checkout_return(*, tenant: Tenant, session_id: str) -> SyncResult | None:
    """Back from Checkout: read the session and its customer from Stripe now, rather than wait for the webhook
    (which then finds nothing left to change). A session of another workspace is ignored."""
    if not session_id.startswith("cs_") or len(session_id) > 255:
        return None
    try:
        session = stripe_client.client().v1.checkout.sessions.retrieve(session_id)
    except stripe_client.StripeError:
        return None
    if str(_get(_get(session, "metadata", {}), "tenant_id", "")) != str(tenant.pk) or not _get(session, "customer"):
        return None
    account = BillingAccount.objects.filter(tenant=tenant).first()
    if account is None or account.stripe_customer_id != session["customer"]:
        return None
    try:
        return customer_sync(customer_id=str(session["customer"]))
    except stripe_client.StripeError:
        return None


def portal_start(*, tenant: Tenant, acting_user: User, return_url: str) -> str:
    """Stripe's Customer Portal for this workspace's customer (card, plan, cancellation, invoices)."""
    _require_owner(tenant, acting_user)
    try:
        with transaction.atomic():
            account = _account_locked(tenant)
            customer_id = customer_ensure(account)
        params: dict[str, Any] = {"customer": customer_id, "return_url": return_url}
        if settings.STRIPE_PORTAL_CONFIGURATION:
            params["configuration"] = settings.STRIPE_PORTAL_CONFIGURATION
        session = stripe_client.client().v1.billing_portal.sessions.create(
            params=params  # type: ignore[arg-type]  # a TypedDict built in steps
        )
    except stripe_client.StripeError as exc:
        raise _stripe_failed(exc) from exc
    return str(session.url)


def subscription_change_plan(*, tenant: Tenant, plan: Plan, interval: Interval, acting_user: User) -> SyncResult:
    """Move a paying subscription to another plan (prorated). The caller (the workspace layer) has checked that the
    workspace fits in it."""
    _require_owner(tenant, acting_user)
    return subscription_plan_set(tenant=tenant, plan=plan, interval=interval)


def subscription_plan_set(*, tenant: Tenant, plan: Plan, interval: Interval) -> SyncResult:
    """Move the workspace's subscription (paying or in its trial, which stays a trial) to `plan`, prorated. Checks
    nobody: owners come through `subscription_change_plan`, platform operators through the workspace layer, which
    checks their Django permission and records the reason."""
    account = BillingAccount.objects.filter(tenant=tenant).first()
    if account is None or not account.stripe_subscription_id or not account.stripe_customer_id:
        raise BillingError("This workspace has no subscription to change yet.")
    if account.status not in LIVE_STATUSES:
        raise BillingError("This workspace's subscription has ended; its owners subscribe again from billing.")
    try:
        client = stripe_client.client()
        sub = client.v1.subscriptions.retrieve(account.stripe_subscription_id)
        item = sub["items"]["data"][0]
        client.v1.subscriptions.update(
            account.stripe_subscription_id,
            params={
                "items": [{"id": item["id"], "price": price_id(plan, interval)}],
                "proration_behavior": "create_prorations",
                "metadata": {"tenant_id": str(tenant.pk)},
            },
        )
        return customer_sync(customer_id=account.stripe_customer_id)
    except stripe_client.StripeError as exc:
        raise _stripe_failed(exc) from exc


def subscription_trial_extend(*, tenant: Tenant, days: int, now: datetime | None = None) -> SyncResult:
    """Move the end of the workspace's trial `days` later (1 to TRIAL_EXTENSION_MAX_DAYS). Checks nobody: platform
    operators come through the workspace layer, which checks their Django permission and records the reason."""
    if not 1 <= days <= TRIAL_EXTENSION_MAX_DAYS:
        raise BillingError(f"A trial can be extended by 1 to {TRIAL_EXTENSION_MAX_DAYS} days at a time.")
    account = BillingAccount.objects.filter(tenant=tenant).first()
    if account is None or account.status != SubscriptionStatus.TRIALING or not account.stripe_subscription_id:
        raise BillingError(f"{tenant.name} is not in a trial.")
    now = now or timezone.now()
    new_end = max(account.trial_end or now, now) + timedelta(days=days)
    try:
        stripe_client.client().v1.subscriptions.update(
            account.stripe_subscription_id,
            params={"trial_end": int(new_end.timestamp()), "proration_behavior": "none"},
        )
        return customer_sync(customer_id=str(account.stripe_customer_id))
    except stripe_client.StripeError as exc:
        raise _stripe_failed(exc) from exc


# ---------------------------------------------------------------------------------------------------------------------
# Seats: debounced, one update per burst
# ---------------------------------------------------------------------------------------------------------------------


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
            if previous != quantity and _get(sub, "status") in LIVE_STATUSES:
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
            raise _stripe_failed(exc) from exc
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
        if at_stripe != used and _get(sub, "status") in LIVE_STATUSES:
            logger.warning(
                "seat drift", extra={"tenant_id": account.tenant_id, "stripe_quantity": at_stripe, "seats_used": used}
            )
            drifts.append({"tenant_id": account.tenant_id, "stripe": at_stripe, "used": used})
            seats_mark_changed(tenant_id=account.tenant_id, now=timezone.now() - timedelta(days=1))
    return drifts


# ---------------------------------------------------------------------------------------------------------------------
# Webhooks: verify, store (the inbox), process by reading back from Stripe
# ---------------------------------------------------------------------------------------------------------------------


class WebhookRefused(BillingError):
    pass


def _signature_time(header: str) -> int:
    stamps = [part.split("=", 1)[1] for part in header.split(",") if part.strip().startswith("t=")]
    if len(stamps) != 1 or not stamps[0].strip().isdigit() or len(stamps[0]) > 12:
        raise WebhookRefused("The Stripe-Signature header has no valid timestamp.")
    return int(stamps[0])


def webhook_verify(*, payload: bytes, header: str, now: float | None = None) -> dict[str, Any]:
    """The event, if Stripe signed it with our secret within the tolerance (300 s in the past, and not from the
    future); WebhookRefused otherwise."""
    if not header or len(header) > 2048:
        raise WebhookRefused("The Stripe-Signature header is missing.")
    if len(payload) > WEBHOOK_MAX_BYTES:
        raise WebhookRefused("The event is larger than any Stripe event.")
    now = time.time() if now is None else now
    if _signature_time(header) > now + WEBHOOK_FUTURE_SKEW:
        raise WebhookRefused("The signature's timestamp is in the future.")
    try:
        text = payload.decode("utf-8")
        event = stripe_client.stripe.Webhook.construct_event(
            text, header, stripe_client.webhook_secret(), WEBHOOK_TOLERANCE
        )
        data = json_depth_check(event.to_dict() if hasattr(event, "to_dict") else dict(event))
    except stripe_client.stripe.SignatureVerificationError as exc:
        raise WebhookRefused(f"Signature refused: {exc.user_message or 'no match'}.") from exc
    # RecursionError: JSON nested deeper than the decoder goes (JsonTooDeep, a ValueError, for a little less)
    except (UnicodeDecodeError, ValueError, TypeError, IndexError, AttributeError, KeyError, RecursionError) as exc:
        raise WebhookRefused("The event could not be read.") from exc
    if "\x00" in text or "\\u0000" in text:  # PostgreSQL cannot store NUL; Stripe never sends one
        raise WebhookRefused("The event could not be read.")
    if not isinstance(data.get("id"), str) or not isinstance(data.get("type"), str) or not data["id"].startswith("evt"):
        raise WebhookRefused("The event has no id or type.")
    return data


def event_refs(event: dict[str, Any]) -> tuple[int | None, str]:
    obj = _get(_get(event, "data", {}), "object", {})
    metadata = _get(obj, "metadata", {}) or _get(
        _get(_get(obj, "parent", {}), "subscription_details", {}), "metadata", {}
    )
    tenant_id = str(_get(metadata, "tenant_id", ""))
    customer = _get(obj, "id") if _get(obj, "object") == "customer" else _get(obj, "customer")
    return (int(tenant_id) if tenant_id.isdigit() and len(tenant_id) < 18 else None), str(customer or "")[:64]


@dataclass
class ProcessResult:
    event_id: str
    processed: bool
    skipped: str = ""
    error: str = ""
    sync: SyncResult | None = None


def _customer_of(client: Any, event: WebhookEvent) -> str:
    obj = _get(_get(event.payload, "data", {}), "object", {})
    if event.type == "checkout.session.completed":
        session = client.v1.checkout.sessions.retrieve(str(obj["id"]))
        return str(_get(session, "customer", ""))
    if event.type == "customer.updated":
        return str(obj["id"])
    return str(_get(obj, "customer", ""))


def webhook_event_process(*, event_pk: int, replay: bool = False, dry_run: bool = False) -> ProcessResult:
    """Process one stored event: name the customer, read it back from Stripe (`customer_sync`), mark it processed.

    The event row stays locked meanwhile, so the same event processed twice at once has one effect. A failure leaves
    it unprocessed, with the error and the attempt counted, for the retry. `replay` processes it again even if done;
    `dry_run` runs it all and rolls it back, returning what would change.
    """
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update().get(pk=event_pk)
        if event.processed_at is not None and not (replay or dry_run):
            return ProcessResult(event.event_id, processed=False, skipped="already processed")
        if event.type not in HANDLED_EVENTS:
            if not dry_run:
                event.processed_at = timezone.now()
                event.save(update_fields=["processed_at"])
            return ProcessResult(event.event_id, processed=not dry_run, skipped="not an event Atrium handles")
        try:
            with transaction.atomic():
                client = stripe_client.client()
                customer_id = _customer_of(client, event)
                sync = customer_sync(customer_id=customer_id) if customer_id else SyncResult(None, note="no customer")
                if dry_run:
                    transaction.set_rollback(True)
        except Exception as exc:  # noqa: BLE001  (any failure leaves the event for the retry, with its reason)
            if dry_run:
                return ProcessResult(event.event_id, processed=False, error=repr(exc)[:500])
            event.attempts += 1
            event.last_error = repr(exc)[:2000]
            event.save(update_fields=["attempts", "last_error"])
            logger.warning("webhook event failed", extra={"event": event.event_id, "error": event.last_error})
            return ProcessResult(event.event_id, processed=False, error=event.last_error)
        if dry_run:
            return ProcessResult(event.event_id, processed=False, sync=sync)
        event.attempts += 1
        event.last_error = ""
        event.processed_at = timezone.now()
        event.save(update_fields=["attempts", "last_error", "processed_at"])
        return ProcessResult(event.event_id, processed=True, sync=sync)
