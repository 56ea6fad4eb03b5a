"""Billing pages: the pricing page on the root; /settings/billing/ for owners only (isolation, query count, hostile
input, Checkout and portal through the local server's test-mode pages); the read-only and suspended states."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.models import BillingAccount, Invoice
from billing.plans import PLANS, Interval
from billing.services import checkout_start
from shared_apps.accounts.models import User
from tenants.models import Tenant, TenantStatus
from tests.billing.helpers import deliver, start_trial
from tests.conftest import HostClient, client_for
from tests.stripe_fixtures import LocalStripe


def test_the_pricing_page_lists_the_plans_on_the_root(public_client: Client, tenant_client: Client) -> None:
    page = public_client.get("/pricing/")

    assert page.status_code == 200
    content = page.content.decode()
    for text in ("Free", "Pro", "Business", "$12", "$24", "14-day trial", "50 seats", "(soft limit)"):
        assert text in content
    assert tenant_client.get("/pricing/").status_code == 404


def test_owners_see_plan_trial_seats_storage_and_invoices(
    tenant: Tenant,
    owner: User,
    tenant_client: HostClient,
    local_stripe: LocalStripe,
    django_capture_on_commit_callbacks: Any,
) -> None:
    account = start_trial(tenant, local_stripe, django_capture_on_commit_callbacks)
    Invoice.objects.create(
        account=account,
        stripe_invoice_id="in_old",
        number="ATR-0042",
        status="paid",
        amount_due=3600,
        hosted_invoice_url="https://invoice.example/in_old",
        created=timezone.now(),
    )
    tenant_client.force_login(owner)

    content = tenant_client.get("/settings/billing/").content.decode()

    assert "<strong>Pro</strong>" in content
    assert "14 days left" in content
    assert "1 in use, up to 50 on this plan · 1 billed" in content
    assert "the plan allows" not in content
    assert "Storage" in content
    assert " used of 50 GB" in content
    assert "$12.00 on" in content  # next invoice: 1 seat of Pro, when the trial ends
    assert "ATR-0042" in content
    assert "https://invoice.example/in_old" in content
    assert "$36.00" in content


def test_only_owners_open_billing(tenant: Tenant, member: User, tenant_client: HostClient) -> None:
    tenant_client.force_login(member)

    assert tenant_client.get("/settings/billing/").status_code == 403
    assert tenant_client.post("/settings/billing/plan/", {"plan": "business"}).status_code == 403
    assert tenant_client.post("/settings/billing/portal/").status_code == 403
    assert BillingAccount.objects.count() == 0


def test_a_workspace_never_sees_or_changes_another_workspaces_billing(
    tenant: Tenant,
    other_tenant: Tenant,
    owner: User,
    outsider: User,
    local_stripe: LocalStripe,
    django_capture_on_commit_callbacks: Any,
) -> None:

    acme = start_trial(tenant, local_stripe, django_capture_on_commit_callbacks)
    Invoice.objects.create(
        account=acme, stripe_invoice_id="in_acme", number="ACME-1", status="paid", created=timezone.now()
    )
    globex = client_for(other_tenant)
    globex.force_login(outsider)

    page = globex.get("/settings/billing/").content.decode()
    assert "ACME-1" not in page
    assert "<strong>Pro</strong>" not in page
    # acme's Checkout session, presented on globex's return URL, changes nothing there
    url = globex.post("/settings/billing/plan/", {"plan": "pro", "interval": "month"})["Location"]
    assert url.startswith(local_stripe.base_url)
    acme_session = _checkout_for(tenant, owner)
    globex.get(f"/settings/billing/?checkout={acme_session}")
    assert BillingAccount.objects.get(tenant=other_tenant).stripe_subscription_id == ""
    # acme's owner has no say on globex's host
    acme_on_globex = client_for(other_tenant)
    acme_on_globex.force_login(owner)
    assert acme_on_globex.post("/settings/billing/portal/").status_code == 403


def _checkout_for(tenant: Tenant, owner: User) -> str:

    url = checkout_start(
        tenant=tenant,
        plan=PLANS["business"],
        interval=Interval.MONTH,
        acting_user=owner,
        success_url="http://x/",
        cancel_url="http://x/",
    )
    return url.rsplit("/", 1)[1]


def test_the_billing_page_costs_the_same_queries_with_one_or_many_invoices(
    tenant: Tenant,
    owner: User,
    tenant_client: HostClient,
    local_stripe: LocalStripe,
    django_capture_on_commit_callbacks: Any,
    django_assert_max_num_queries: Any,
) -> None:

    account = start_trial(tenant, local_stripe, django_capture_on_commit_callbacks)
    tenant_client.force_login(owner)
    tenant_client.get("/settings/billing/")

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert tenant_client.get("/settings/billing/").status_code == 200
        # (the schema switch is re-sent after the test itself wrote in the public schema: not the page's)
        return len([q for q in ctx.captured_queries if not q["sql"].startswith("SET search_path")])

    one = count()
    for i in range(12):
        Invoice.objects.create(account=account, stripe_invoice_id=f"in_{i}", status="paid", created=timezone.now())
    assert count() == one
    assert one <= 12


def test_upgrading_through_the_test_mode_checkout_page_changes_the_plan(
    tenant: Tenant,
    owner: User,
    tenant_client: HostClient,
    public_client: Client,
    local_stripe: LocalStripe,
    django_capture_on_commit_callbacks: Any,
) -> None:
    start_trial(tenant, local_stripe, django_capture_on_commit_callbacks)
    tenant_client.force_login(owner)

    checkout = tenant_client.post("/settings/billing/plan/", {"plan": "business", "interval": "month"})
    assert checkout.status_code == 302
    page = requests.get(checkout["Location"], timeout=10)
    assert "TEST MODE" in page.text
    assert "Atrium Business x 1 seat" in page.text
    declined = requests.post(
        checkout["Location"], data={"card": "tok_chargeDeclined"}, allow_redirects=False, timeout=10
    )
    assert declined.status_code == 402
    assert "declined" in declined.text
    paid = requests.post(checkout["Location"], data={"card": "tok_visa"}, allow_redirects=False, timeout=10)
    back = paid.headers["Location"]
    assert back.startswith("http://acme.localhost/settings/billing/?checkout=cs_test_")

    with django_capture_on_commit_callbacks(execute=True):
        landed = tenant_client.get(back.removeprefix("http://acme.localhost"), follow=True)
    assert "is on the Business plan now" in landed.content.decode()
    account = BillingAccount.objects.get(tenant=tenant)
    assert (account.plan, account.status, account.card_last4) == ("business", "trialing", "4242")  # the trial goes on
    with django_capture_on_commit_callbacks(execute=True):
        deliver(public_client, local_stripe)  # the webhooks arrive afterwards and find the same state
    assert BillingAccount.objects.get(tenant=tenant).plan == "business"

    portal = tenant_client.post("/settings/billing/portal/")
    assert portal.status_code == 302
    assert "Customer portal" in requests.get(portal["Location"], timeout=10).text


@pytest.mark.parametrize("data", [{"plan": "x" * 5000}, {"plan": "pro\x00"}, {"plan": "pro", "interval": "weekly"}, {}])
def test_hostile_plan_input_gets_a_message_not_a_500(
    tenant: Tenant, owner: User, tenant_client: HostClient, data: dict[str, str]
) -> None:
    tenant_client.force_login(owner)

    response = tenant_client.post("/settings/billing/plan/", data, follow=True)

    assert response.status_code == 200
    assert "Choose one of the plans" in response.content.decode()
    assert tenant_client.get("/settings/billing/?checkout=" + "cs_" + "A" * 3000).status_code == 302


def test_read_only_reads_refuse_writes_and_keep_billing_open(
    tenant: Tenant, owner: User, member: User, tenant_client: HostClient
) -> None:
    Tenant.objects.filter(pk=tenant.pk).update(status=TenantStatus.READ_ONLY)
    tenant_client.force_login(owner)

    assert tenant_client.get("/").status_code == 200
    assert "is read-only: payment is overdue" in tenant_client.get("/settings/members/").content.decode()
    refused = tenant_client.post("/settings/invitations/", {"emails": "a@example.com", "role": "member"})
    assert refused.status_code == 402
    assert "nothing can be changed until the bill is paid" in refused.content.decode()
    assert tenant_client.get("/settings/billing/").status_code == 200
    assert tenant_client.post("/settings/billing/plan/", {"plan": "nope"}).status_code == 302  # reached the view
    assert tenant_client.post("/logout/").status_code == 302


def test_suspended_for_non_payment_keeps_billing_open_for_owners_only(
    tenant: Tenant, owner: User, member: User, tenant_client: HostClient
) -> None:
    Tenant.objects.filter(pk=tenant.pk).update(status=TenantStatus.BILLING_SUSPENDED)
    tenant_client.force_login(owner)
    page = tenant_client.get("/")
    assert page.status_code == 403
    assert 'href="/settings/billing/"' in page.content.decode()
    assert tenant_client.get("/settings/billing/").status_code == 200

    other = HostClient(tenant_client.host)
    other.force_login(member)
    assert other.get("/settings/members/").status_code == 403
    assert other.get("/settings/billing/").status_code == 403
    anonymous = HostClient(tenant_client.host)
    assert anonymous.get("/login/").status_code == 200
