"""Deleting a workspace ends its subscription: the deletion page says so (cancelled at once, no further charges, the
current period not refunded), the deletion cancels it at Stripe through the billing service, audited; when Stripe
does not answer, nothing is changed and the page says why. A restored workspace comes back without a subscription."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils.formats import date_format

from billing.models import BillingAccount, SubscriptionStatus
from shared_apps.accounts.models import User
from shared_apps.workspaces.services import workspace_restore
from tenant_apps.audit.models import AuditEntry
from tenants.models import Tenant, TenantStatus
from tests.billing.helpers import Clock, add_card, start_trial, stripe
from tests.conftest import HostClient
from tests.stripe_fixtures import LocalStripe


def _paying(tenant: Tenant, public_client: Client, local: LocalStripe, capture: Any) -> BillingAccount:
    """A workspace past its trial, paying for Pro with a card."""
    clock = Clock(public_client, local, capture)
    account = start_trial(tenant, local, capture, clock=clock)
    add_card(account)
    clock.advance(days=15)
    account.refresh_from_db()
    assert (account.status, account.card_last4) == (SubscriptionStatus.ACTIVE, "4242")
    return account


def _cancellations(local: LocalStripe, since: int) -> list[dict[str, Any]]:
    return [r for r in local.requests_log()[since:] if r["method"] == "DELETE" and "/v1/subscriptions/" in r["path"]]


def test_deleting_a_paying_workspace_says_and_cancels_its_subscription_at_once(
    tenant: Tenant,
    other_tenant: Tenant,
    owner: User,
    tenant_client: HostClient,
    public_client: Client,
    local_stripe: LocalStripe,
    django_capture_on_commit_callbacks: Any,
    in_tenant: Any,
) -> None:
    account = _paying(tenant, public_client, local_stripe, django_capture_on_commit_callbacks)
    assert account.current_period_end is not None
    globex = start_trial(other_tenant, local_stripe, django_capture_on_commit_callbacks)
    tenant_client.force_login(owner)

    page = tenant_client.get("/settings/delete/").content.decode()
    assert "Its Pro subscription is cancelled at once: no further charges." in page
    paid_until = date_format(account.current_period_end, "DATE_FORMAT")
    assert f"The current period, paid until {paid_until}, is not refunded." in page

    since = len(local_stripe.requests_log())
    assert tenant_client.post("/settings/delete/", {"confirm": "acme"}).status_code == 302

    assert len(_cancellations(local_stripe, since)) == 1
    # another workspace's subscription is not touched
    assert stripe().v1.subscriptions.retrieve(globex.stripe_subscription_id).status == "trialing"
    assert BillingAccount.objects.get(pk=globex.pk).status == SubscriptionStatus.TRIALING
    assert stripe().v1.subscriptions.retrieve(account.stripe_subscription_id).status == "canceled"
    tenant.refresh_from_db()
    assert tenant.status == TenantStatus.SCHEDULED_DELETION
    assert BillingAccount.objects.get(pk=account.pk).status == SubscriptionStatus.CANCELED
    with in_tenant(tenant):
        entry = AuditEntry.objects.get(action="billing.subscription_canceled")
    assert entry.actor_id == owner.pk
    assert (entry.metadata["plan"], entry.metadata["refunded"]) == ("pro", False)

    # restored within the grace period, the workspace comes back without a subscription: owners choose a plan again
    restored = workspace_restore(tenant=tenant, acting_user=owner)
    assert restored.status == TenantStatus.BILLING_SUSPENDED


def test_when_stripe_does_not_answer_nothing_is_deleted_and_the_page_says_why(
    tenant: Tenant,
    owner: User,
    tenant_client: HostClient,
    local_stripe: LocalStripe,
    django_capture_on_commit_callbacks: Any,
    in_tenant: Any,
    settings: Any,
) -> None:
    account = start_trial(tenant, local_stripe, django_capture_on_commit_callbacks)
    tenant_client.force_login(owner)
    assert "Its Pro trial ends at once; nothing is charged." in tenant_client.get("/settings/delete/").content.decode()
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there
    settings.STRIPE_MAX_NETWORK_RETRIES = 0

    response = tenant_client.post("/settings/delete/", {"confirm": "acme"})

    assert response.status_code == 400
    assert "The payment provider did not answer as expected. Nothing was changed" in response.content.decode()
    tenant.refresh_from_db()
    assert tenant.status == TenantStatus.ACTIVE
    assert BillingAccount.objects.get(pk=account.pk).status == SubscriptionStatus.TRIALING
    with in_tenant(tenant):
        assert not AuditEntry.objects.filter(action__in=["tenant.deletion_scheduled", "billing.subscription_canceled"])
    settings.STRIPE_API_BASE = local_stripe.base_url
    assert stripe().v1.subscriptions.retrieve(account.stripe_subscription_id).status == "trialing"


def test_the_deletion_page_costs_the_same_queries_with_or_without_a_subscription(
    tenant: Tenant,
    owner: User,
    tenant_client: HostClient,
    local_stripe: LocalStripe,
    django_capture_on_commit_callbacks: Any,
) -> None:
    tenant_client.force_login(owner)
    tenant_client.get("/settings/delete/")

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert tenant_client.get("/settings/delete/").status_code == 200
        return len([q for q in ctx.captured_queries if not q["sql"].startswith("SET search_path")])

    without = count()
    start_trial(tenant, local_stripe, django_capture_on_commit_callbacks)
    assert count() == without
