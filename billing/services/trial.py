"""The trial every new workspace starts with, without a card."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from billing import stripe_client
from billing.models import BillingAccount
from billing.plans import PLANS, TRIAL_PLAN, Interval
from billing.services.base import account_locked, stripe_failed
from billing.services.catalog import price_id
from billing.services.sync import customer_sync
from shared_apps.accounts.models import Membership, Role
from shared_apps.accounts.selectors import seats_used
from tenant_apps.audit.actions import AuditAction
from tenant_apps.audit.services import audit_record
from tenants.models import Tenant


def _owner_email(tenant: Tenant) -> str:
    owner = (
        Membership.objects.filter(tenant=tenant, role=Role.OWNER).select_related("user").order_by("created_at").first()
    )
    return owner.user.email if owner else ""


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
            account = account_locked(tenant)
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
        raise stripe_failed(exc) from exc
    return BillingAccount.objects.get(tenant=tenant)
