"""The subscription drives the workspace, read back from Stripe (the local server) whatever the order of events:
trial → renewal; trial end without a card → past due → read-only → suspended → paid → active, with time moved by a
test clock; Checkout replacing the trial's subscription; every transition in the audit log."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
import requests
from django.core.management import call_command
from django.test import Client

from billing import services
from billing.models import BillingAccount, Invoice, SubscriptionStatus
from billing.plans import PLANS, Interval
from shared_apps.accounts.models import User
from shared_apps.workspaces.services import workspace_suspend
from tenant_apps.audit.models import AuditEntry
from tenants.models import Domain, Tenant, TenantStatus
from tests.billing.helpers import Clock, add_card, deliver, start_trial, stripe
from tests.stripe_fixtures import LocalStripe


def _state(tenant: Tenant) -> tuple[str, str]:
    tenant.refresh_from_db()
    account = BillingAccount.objects.get(tenant=tenant)
    return tenant.status, account.status


def _actions(tenant: Tenant, in_tenant: Any) -> list[str]:
    with in_tenant(tenant):
        return list(
            AuditEntry.objects.filter(action__startswith="billing.").order_by("id").values_list("action", flat=True)
        )


def test_a_new_workspace_starts_a_14_day_trial_without_a_card(
    tenant: Tenant, owner: User, local_stripe: LocalStripe, django_capture_on_commit_callbacks: Any, in_tenant: Any
) -> None:
    account = start_trial(tenant, local_stripe, django_capture_on_commit_callbacks)

    assert (account.plan, account.status, account.card_last4) == ("pro", SubscriptionStatus.TRIALING, "")
    assert account.trial_end is not None
    assert account.synced_at is not None
    assert 13.9 < (account.trial_end - account.synced_at).total_seconds() / 86_400 <= 14.0
    customer = stripe().v1.customers.retrieve(str(account.stripe_customer_id))
    subscription = stripe().v1.subscriptions.retrieve(account.stripe_subscription_id)
    assert customer.metadata["tenant_id"] == str(tenant.pk)
    assert subscription.metadata["tenant_id"] == str(tenant.pk)
    assert _actions(tenant, in_tenant) == ["billing.trial_started"]
    # idempotent: a second start keeps the subscription
    assert services.trial_start(tenant=tenant).stripe_subscription_id == account.stripe_subscription_id


def test_with_a_card_the_trial_ends_paid_and_renewals_keep_it_active(
    tenant: Tenant,
    owner: User,
    public_client: Client,
    local_stripe: LocalStripe,
    django_capture_on_commit_callbacks: Any,
) -> None:
    clock = Clock(public_client, local_stripe, django_capture_on_commit_callbacks)
    account = start_trial(tenant, local_stripe, django_capture_on_commit_callbacks, clock=clock)
    add_card(account)

    clock.advance(days=15)
    assert _state(tenant) == (TenantStatus.ACTIVE, SubscriptionStatus.ACTIVE)
    clock.advance(days=31)

    assert _state(tenant) == (TenantStatus.ACTIVE, SubscriptionStatus.ACTIVE)
    assert list(Invoice.objects.filter(account=account).values_list("status", flat=True)) == ["paid", "paid"]
    assert BillingAccount.objects.get(pk=account.pk).card_last4 == "4242"


def test_dunning_past_due_then_read_only_then_suspended_then_paid_and_active_again(
    tenant: Tenant,
    owner: User,
    public_client: Client,
    local_stripe: LocalStripe,
    django_capture_on_commit_callbacks: Any,
    in_tenant: Any,
    settings: Any,
) -> None:
    settings.BILLING_PAST_DUE_GRACE_DAYS = 7
    clock = Clock(public_client, local_stripe, django_capture_on_commit_callbacks)
    account = start_trial(tenant, local_stripe, django_capture_on_commit_callbacks, clock=clock)

    clock.advance(days=15)  # the trial ended on day 14 with no card: the first invoice fails
    assert _state(tenant) == (TenantStatus.PAST_DUE, SubscriptionStatus.PAST_DUE)
    assert BillingAccount.objects.get(pk=account.pk).past_due_since is not None

    clock.advance(days=3)  # day 18: retried and failed again, still inside the grace period
    assert _state(tenant) == (TenantStatus.PAST_DUE, SubscriptionStatus.PAST_DUE)

    clock.advance(days=5)  # day 23: more than 7 days after the first failure
    assert _state(tenant) == (TenantStatus.READ_ONLY, SubscriptionStatus.PAST_DUE)

    clock.advance(days=7)  # day 30: the last retry (day 28) failed: Stripe marks it unpaid
    assert _state(tenant) == (TenantStatus.BILLING_SUSPENDED, SubscriptionStatus.UNPAID)

    add_card(account)  # the owner enters a card: the open invoice is paid at once
    with django_capture_on_commit_callbacks(execute=True):
        deliver(public_client, local_stripe)
    assert _state(tenant) == (TenantStatus.ACTIVE, SubscriptionStatus.ACTIVE)

    assert _actions(tenant, in_tenant) == [
        "billing.trial_started",
        "billing.past_due",
        "billing.read_only",
        "billing.suspended",
        "billing.reactivated",
    ]


def test_events_out_of_order_leave_the_state_stripe_has_now(
    tenant: Tenant,
    owner: User,
    public_client: Client,
    local_stripe: LocalStripe,
    django_capture_on_commit_callbacks: Any,
    in_tenant: Any,
) -> None:
    """The owner upgrades through Checkout: a new subscription replaces the trial's. Delivered newest first (a late
    `customer.subscription.created` for the trial arriving after the paid one), the final state is still Business,
    in the trial Checkout carried over (with a card now), with the trial's own subscription canceled."""
    account = start_trial(tenant, local_stripe, django_capture_on_commit_callbacks)
    trial_subscription = account.stripe_subscription_id
    local_stripe.skip_pending()
    url = services.checkout_start(
        tenant=tenant,
        plan=PLANS["business"],
        interval=Interval.YEAR,
        acting_user=owner,
        success_url="http://acme.localhost/settings/billing/?checkout={CHECKOUT_SESSION_ID}",
        cancel_url="http://acme.localhost/settings/billing/",
    )
    paid = requests.post(url, data={"card": "tok_visa", "action": "pay"}, allow_redirects=False, timeout=10)
    assert paid.status_code == 303

    with django_capture_on_commit_callbacks(execute=True):
        deliver(public_client, local_stripe, order="reversed")
    with django_capture_on_commit_callbacks(execute=True):
        deliver(public_client, local_stripe, order="reversed")  # the cancellation the sync made, delivered too

    account.refresh_from_db()
    assert (account.plan, account.interval, account.status) == ("business", "year", SubscriptionStatus.TRIALING)
    assert account.card_last4 == "4242"
    assert account.stripe_subscription_id != trial_subscription
    assert stripe().v1.subscriptions.retrieve(trial_subscription).status == "canceled"
    assert _state(tenant)[0] == TenantStatus.ACTIVE
    assert _actions(tenant, in_tenant) == ["billing.trial_started", "billing.plan_changed"]


def test_a_payment_never_lifts_an_operators_suspension(
    tenant: Tenant, owner: User, local_stripe: LocalStripe, django_capture_on_commit_callbacks: Any
) -> None:

    account = start_trial(tenant, local_stripe, django_capture_on_commit_callbacks)
    workspace_suspend(tenant=tenant, acting_user=None, reason="abuse")

    services.customer_sync(customer_id=str(account.stripe_customer_id))

    assert _state(tenant) == (TenantStatus.SUSPENDED, SubscriptionStatus.TRIALING)


@pytest.mark.usefixtures("tenant")
def test_the_demo_workspace_shows_a_trial_in_progress(settings: Any) -> None:

    settings.DEBUG = True
    out = StringIO()
    call_command("seed_demo", stdout=out)

    demo = Domain.objects.get(domain="demo.localhost").tenant
    account = BillingAccount.objects.get(tenant=demo)
    assert (account.plan, account.status) == ("pro", SubscriptionStatus.TRIALING)
    assert "Billing: demo on pro (trialing)" in out.getvalue()
