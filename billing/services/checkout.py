"""Checkout, the Customer Portal, and plan changes (owners); trial extensions (operators)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import stripe_client
from billing.models import BillingAccount, SubscriptionStatus
from billing.plans import Interval, Plan
from billing.selectors import trial_kept_by_checkout
from billing.services.base import LIVE_STATUSES, BillingError, account_locked, stripe_failed, stripe_field
from billing.services.catalog import price_id
from billing.services.sync import SyncResult, customer_sync
from billing.services.trial import customer_ensure
from shared_apps.accounts.models import User
from shared_apps.accounts.permissions import Action, require
from shared_apps.accounts.selectors import seats_used
from shared_apps.accounts.services.members import role_of
from tenants.models import Tenant

if TYPE_CHECKING:
    from stripe.params.checkout import SessionCreateParamsSubscriptionData

TRIAL_EXTENSION_MAX_DAYS = 90


def _require_owner(tenant: Tenant, acting_user: User) -> None:
    require(role_of(tenant_id=tenant.pk, user=acting_user), Action.BILLING_MANAGE, "Only owners manage billing.")


def checkout_start(
    *, tenant: Tenant, plan: Plan, interval: Interval, acting_user: User, success_url: str, cancel_url: str
) -> str:
    """A Stripe Checkout page for `plan`: the card is entered there, and the subscription it makes replaces the
    trial's (`_supersede`), keeping the trial's end when it is 48 hours away or more (`trial_kept_by_checkout`).
    Returns its URL."""
    _require_owner(tenant, acting_user)
    try:
        with transaction.atomic():
            account = account_locked(tenant)
            customer_id = customer_ensure(account)
            trial_end = trial_kept_by_checkout(account, now=timezone.now())
        subscription_data: SessionCreateParamsSubscriptionData = {"metadata": {"tenant_id": str(tenant.pk)}}
        if trial_end is not None:  # the trial goes on: nothing is due today, the first charge comes when it ends
            subscription_data["trial_end"] = int(trial_end.timestamp())
        session = stripe_client.client().v1.checkout.sessions.create(
            params={
                "mode": "subscription",
                "customer": customer_id,
                "client_reference_id": str(tenant.pk),
                "line_items": [
                    {"price": price_id(plan, interval), "quantity": max(seats_used(tenant_id=tenant.pk), 1)}
                ],
                "metadata": {"tenant_id": str(tenant.pk), "plan": plan.code},
                "subscription_data": subscription_data,
                "success_url": success_url,
                "cancel_url": cancel_url,
            }
        )
    except stripe_client.StripeError as exc:
        raise stripe_failed(exc) from exc
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
    if str(stripe_field(stripe_field(session, "metadata", {}), "tenant_id", "")) != str(tenant.pk) or not stripe_field(
        session, "customer"
    ):
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
            account = account_locked(tenant)
            customer_id = customer_ensure(account)
        params: dict[str, Any] = {"customer": customer_id, "return_url": return_url}
        if settings.STRIPE_PORTAL_CONFIGURATION:
            params["configuration"] = settings.STRIPE_PORTAL_CONFIGURATION
        session = stripe_client.client().v1.billing_portal.sessions.create(
            params=params  # type: ignore[arg-type]  # a TypedDict built in steps
        )
    except stripe_client.StripeError as exc:
        raise stripe_failed(exc) from exc
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
        raise BillingError(_("This workspace has no subscription to change yet."))
    if account.status not in LIVE_STATUSES:
        raise BillingError(_("This workspace's subscription has ended; its owners subscribe again from billing."))
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
        raise stripe_failed(exc) from exc


def subscription_trial_extend(*, tenant: Tenant, days: int, now: datetime | None = None) -> SyncResult:
    """Move the end of the workspace's trial `days` later (1 to TRIAL_EXTENSION_MAX_DAYS). Checks nobody: platform
    operators come through the workspace layer, which checks their Django permission and records the reason."""
    if not 1 <= days <= TRIAL_EXTENSION_MAX_DAYS:
        raise BillingError(
            _("A trial can be extended by 1 to %(TRIAL_EXTENSION_MAX_DAYS)s days at a time.")
            % {"TRIAL_EXTENSION_MAX_DAYS": TRIAL_EXTENSION_MAX_DAYS}
        )
    account = BillingAccount.objects.filter(tenant=tenant).first()
    if account is None or account.status != SubscriptionStatus.TRIALING or not account.stripe_subscription_id:
        raise BillingError(_("%(name)s is not in a trial.") % {"name": tenant.name})
    now = now or timezone.now()
    new_end = max(account.trial_end or now, now) + timedelta(days=days)
    try:
        stripe_client.client().v1.subscriptions.update(
            account.stripe_subscription_id,
            params={"trial_end": int(new_end.timestamp()), "proration_behavior": "none"},
        )
        return customer_sync(customer_id=str(account.stripe_customer_id))
    except stripe_client.StripeError as exc:
        raise stripe_failed(exc) from exc
