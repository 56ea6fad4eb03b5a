"""Upgrading during the trial: the billing page says when the trial ends and what is charged when, and Checkout
carries the trial's end (`subscription_data.trial_end`), so nothing is due today and the first charge is on that
date."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import requests
from django.test import Client
from django.utils import timezone
from django.utils.formats import date_format

from billing.models import BillingAccount, Invoice, SubscriptionStatus
from billing.selectors import trial_kept_by_checkout
from shared_apps.accounts.models import User
from tenants.models import Tenant
from tests.billing.helpers import deliver, start_trial, stripe
from tests.conftest import HostClient
from tests.stripe_fixtures import LocalStripe


def _checkout_requests(local: LocalStripe, since: int) -> list[dict[str, Any]]:
    return [r for r in local.requests_log()[since:] if r["method"] == "POST" and r["path"] == "/v1/checkout/sessions"]


def test_upgrading_in_the_trial_keeps_it_and_says_when_the_first_charge_comes(
    tenant: Tenant,
    owner: User,
    tenant_client: HostClient,
    public_client: Client,
    local_stripe: LocalStripe,
    django_capture_on_commit_callbacks: Any,
) -> None:
    account = start_trial(tenant, local_stripe, django_capture_on_commit_callbacks)
    assert account.trial_end is not None
    trial_end = account.trial_end
    ends = date_format(timezone.localtime(trial_end), "DATE_FORMAT")
    tenant_client.force_login(owner)

    page = tenant_client.get("/settings/billing/").content.decode()
    assert f"Your trial ends on {ends}" in page
    assert "Nothing is charged today" in page
    assert f"$24.00 a month for 1 seat from {ends}" in page  # Business, one seat

    since = len(local_stripe.requests_log())
    checkout = tenant_client.post("/settings/billing/plan/", {"plan": "business", "interval": "month"})
    assert checkout.status_code == 302
    (sent,) = _checkout_requests(local_stripe, since)
    assert sent["params"]["subscription_data"]["trial_end"] == str(int(trial_end.timestamp()))
    shown = requests.get(checkout["Location"], timeout=10).text
    assert "Total due today</th><th>$0.00" in shown
    assert "Free trial until" in shown

    paid = requests.post(checkout["Location"], data={"card": "tok_visa"}, allow_redirects=False, timeout=10)
    with django_capture_on_commit_callbacks(execute=True):
        landed = tenant_client.get(paid.headers["Location"].removeprefix("http://acme.localhost"), follow=True)
    assert f"The trial goes on until {ends}; the first charge comes then." in landed.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        deliver(public_client, local_stripe)

    account = BillingAccount.objects.get(tenant=tenant)
    assert (account.plan, account.status, account.card_last4) == ("business", SubscriptionStatus.TRIALING, "4242")
    assert account.trial_end == trial_end
    subscription = stripe().v1.subscriptions.retrieve(account.stripe_subscription_id)
    assert subscription.trial_end == int(trial_end.timestamp())
    assert not Invoice.objects.filter(account=account, amount_paid__gt=0).exists()


def test_a_trial_ending_within_two_days_is_not_carried_and_the_page_says_the_charge_is_today(
    tenant: Tenant,
    owner: User,
    tenant_client: HostClient,
    local_stripe: LocalStripe,
    django_capture_on_commit_callbacks: Any,
) -> None:
    account = start_trial(tenant, local_stripe, django_capture_on_commit_callbacks)
    now = timezone.now()
    # Stripe refuses a Checkout trial_end less than 48 hours away: such a trial ends at checkout
    assert trial_kept_by_checkout(account, now=now) == account.trial_end
    assert trial_kept_by_checkout(account, now=now + timedelta(days=12, hours=1)) is None
    BillingAccount.objects.filter(pk=account.pk).update(trial_end=now + timedelta(hours=30))
    tenant_client.force_login(owner)

    page = tenant_client.get("/settings/billing/").content.decode()
    assert "Nothing is charged today" not in page
    assert "$24.00 a month for 1 seat, charged today" in page
    since = len(local_stripe.requests_log())
    tenant_client.post("/settings/billing/plan/", {"plan": "business", "interval": "month"})
    (sent,) = _checkout_requests(local_stripe, since)
    assert "trial_end" not in sent["params"].get("subscription_data", {})
