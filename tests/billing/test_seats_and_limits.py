"""Seats pushed to Stripe within the debounce window, once per burst; limits from the plan in one place: seats
(invite refused past the hard limit, with an upgrade link), projects, storage, API rate; downgrades refused when
outgrown."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from billing import entitlements, services
from billing.models import BillingAccount
from billing.plans import PLANS, Resource
from shared_apps.accounts import services as accounts
from shared_apps.accounts.errors import SeatLimitReached
from shared_apps.accounts.models import Invitation, Membership, Role, User
from shared_apps.workspaces.services import workspace_plan_change
from tenants.models import Tenant
from tests.billing.helpers import start_trial, stripe, subscription_updates
from tests.conftest import HostClient
from tests.factories import MembershipFactory, UserFactory
from tests.stripe_fixtures import LocalStripe


def test_a_burst_of_member_changes_makes_one_stripe_update_with_the_final_count(
    tenant: Tenant, owner: User, local_stripe: LocalStripe, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.BILLING_SEAT_SYNC_DEBOUNCE = 10
    account = start_trial(tenant, local_stripe, django_capture_on_commit_callbacks)
    assert account.seats_paid == 1
    since = len(local_stripe.requests_log())
    joiner = UserFactory.create(email="joiner@example.com")

    with django_capture_on_commit_callbacks(execute=True):  # invite three, one joins, one is revoked, one leaves
        result = accounts.invitations_create(
            tenant=tenant,
            emails=["a@example.com", "b@example.com", "c@example.com"],
            role=Role.MEMBER,
            acting_user=owner,
        )
    with django_capture_on_commit_callbacks(execute=True):
        accounts.invitation_revoke(tenant=tenant, invitation=result.created[0], acting_user=owner)
    with django_capture_on_commit_callbacks(execute=True):
        accounts.membership_create(user=joiner, tenant=tenant)
    with django_capture_on_commit_callbacks(execute=True):
        accounts.member_leave(tenant=tenant, user=joiner)

    assert subscription_updates(local_stripe, account.stripe_subscription_id, since) == []  # still inside the window
    assert services.seats_sync_due(now=timezone.now() + timedelta(seconds=11)) == 1
    assert services.seats_sync_due(now=timezone.now() + timedelta(seconds=30)) == 0  # nothing left to push

    updates = subscription_updates(local_stripe, account.stripe_subscription_id, since)
    assert len(updates) == 1
    assert updates[0]["params"]["items"][0]["quantity"] == "3"  # owner + two pending invitations
    assert updates[0]["idempotency_key"].startswith(f"atrium-seats-{account.stripe_subscription_id}-")
    assert stripe().v1.subscriptions.retrieve(account.stripe_subscription_id)["items"].data[0].quantity == 3
    assert BillingAccount.objects.get(pk=account.pk).seats_paid == 3


def test_the_nightly_drift_check_finds_and_repairs_a_difference(
    tenant: Tenant, owner: User, local_stripe: LocalStripe, django_capture_on_commit_callbacks: Any
) -> None:
    account = start_trial(tenant, local_stripe, django_capture_on_commit_callbacks)
    MembershipFactory.create(tenant=tenant, role=Role.MEMBER)  # a change that sent no signal

    drifts = services.seats_drift_check()

    assert drifts == [{"tenant_id": tenant.pk, "stripe": 1, "used": 2}]
    services.seats_sync_due()
    assert stripe().v1.subscriptions.retrieve(account.stripe_subscription_id)["items"].data[0].quantity == 2


def test_inviting_past_the_plans_hard_seat_limit_is_refused_with_an_upgrade_link(
    tenant: Tenant,
    owner: User,
    tenant_client: HostClient,
    local_stripe: LocalStripe,
    django_capture_on_commit_callbacks: Any,
) -> None:
    start_trial(tenant, local_stripe, django_capture_on_commit_callbacks)
    BillingAccount.objects.filter(tenant=tenant).update(plan="free")  # Free: 3 seats
    tenant_client.force_login(owner)

    response = tenant_client.post(
        "/settings/invitations/", {"emails": "a@example.com b@example.com c@example.com", "role": "member"}
    )

    assert response.status_code == 409
    content = response.content.decode()
    assert "Acme Inc has 3 seats and 1 are taken" in content
    assert 'href="/settings/billing/"' in content
    assert Invitation.objects.count() == 0
    with pytest.raises(SeatLimitReached):
        accounts.invitations_create(
            tenant=tenant, emails=["a@example.com", "b@example.com", "c@example.com"], role="member", acting_user=owner
        )


def test_one_entitlement_check_for_projects_storage_and_api_rate(
    tenant: Tenant, local_stripe: LocalStripe, django_capture_on_commit_callbacks: Any
) -> None:
    BillingAccount.objects.create(tenant=tenant, plan="free", status="active")
    with pytest.raises(entitlements.LimitReached, match="The Free plan includes 3 projects and 3 are in use"):
        entitlements.entitlement_require(tenant_id=tenant.pk, resource=Resource.PROJECTS, used=3)
    refused = entitlements.entitlement_check(tenant_id=tenant.pk, resource=Resource.STORAGE_BYTES, used=2**30)
    assert not refused.allowed
    assert "1 GB storage and 1 GB is in use" in refused.message

    BillingAccount.objects.filter(tenant=tenant).update(plan="pro")
    soft = entitlements.entitlement_check(tenant_id=tenant.pk, resource=Resource.PROJECTS, used=100)
    assert soft.allowed
    assert soft.over_soft_limit
    assert not soft.hard
    assert entitlements.entitlement_check(tenant_id=tenant.pk, resource=Resource.PROJECTS, used=5).message == ""

    BillingAccount.objects.filter(tenant=tenant).update(plan="free")
    decisions = [entitlements.api_request_allow(tenant_id=tenant.pk, now=600.0) for _ in range(61)]
    assert all(d.allowed for d in decisions[:60])
    assert not decisions[60].allowed
    assert entitlements.api_request_allow(tenant_id=tenant.pk, now=660.0).allowed  # the next minute


def test_a_downgrade_the_workspace_has_outgrown_is_refused_with_the_reason(
    tenant: Tenant,
    owner: User,
    local_stripe: LocalStripe,
    django_capture_on_commit_callbacks: Any,
    tenant_client: HostClient,
) -> None:
    account = start_trial(tenant, local_stripe, django_capture_on_commit_callbacks)
    for i in range(4):
        MembershipFactory.create(tenant=tenant, role=Role.MEMBER, user__email=f"m{i}@example.com")

    with pytest.raises(services.PlanOutgrown, match="Free allows 3 seats and the workspace uses 5"):
        workspace_plan_change(
            tenant=tenant, plan_code="free", interval="month", acting_user=owner, success_url="x", cancel_url="x"
        )
    tenant_client.force_login(owner)
    response = tenant_client.post("/settings/billing/plan/", {"plan": "free", "interval": "month"}, follow=True)
    assert "cannot move to Free: Free allows 3 seats and the workspace uses 5" in response.content.decode()
    assert BillingAccount.objects.get(pk=account.pk).plan == "pro"

    Membership.objects.filter(tenant=tenant, role=Role.MEMBER).delete()
    change = workspace_plan_change(
        tenant=tenant, plan_code="free", interval="month", acting_user=owner, success_url="x", cancel_url="x"
    )
    assert change.changed
    assert BillingAccount.objects.get(pk=account.pk).plan == "free"


def test_plans_are_code_and_sync_plans_is_idempotent(local_stripe: LocalStripe) -> None:
    result = services.plans_sync()

    assert result.created == []
    assert len(result.unchanged) == len(PLANS) * 2
    prices = stripe().v1.prices.list(params={"lookup_keys": ["atrium_pro_month"]}).data
    assert [(p.unit_amount, p.recurring.interval) for p in prices] == [(1200, "month")]
    # The Customer Portal configuration is kept, not multiplied: a second sync updates the same one.
    again = services.plans_sync()
    assert again.portal_configuration == result.portal_configuration
    configs = stripe().v1.billing_portal.configurations.list(params={"active": True, "limit": 100}).data
    assert [c.id for c in configs if c.metadata and services.PORTAL_MARKER in c.metadata] == [
        result.portal_configuration
    ]
