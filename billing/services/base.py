"""What every billing write shares: its errors, the subscription statuses that count as alive, the workspace's
billing row locked, and reading Stripe's values."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from django.utils.translation import gettext as _

from billing.models import BillingAccount, SubscriptionStatus
from shared_apps.core.errors import ApplicationError
from tenants.models import Tenant

logger = logging.getLogger(__name__)


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


class BillingError(ApplicationError):
    """Something about billing that cannot be done as asked (the message says why)."""


class BillingUnavailable(BillingError):
    """Stripe did not answer, or answered with an error."""


class PlanOutgrown(BillingError):
    """The workspace uses more than the plan it asked for allows."""


def stripe_failed(exc: Exception) -> BillingUnavailable:
    logger.warning("stripe call failed", extra={"error": repr(exc)})
    return BillingUnavailable(
        _("The payment provider did not answer as expected. Nothing was changed; try again in a minute.")
    )


def timestamp(value: Any) -> datetime | None:
    """Stripe's Unix timestamps as aware datetimes (None for none)."""
    return datetime.fromtimestamp(int(value), tz=UTC) if value else None


def stripe_field(obj: Any, key: str, default: Any = None) -> Any:
    try:
        value = obj[key]
    except (KeyError, TypeError, IndexError):
        return default
    return default if value is None else value


def account_locked(tenant: Tenant) -> BillingAccount:
    """The workspace's billing row (made if missing), locked for the rest of the transaction."""
    BillingAccount.objects.get_or_create(tenant=tenant)
    return BillingAccount.objects.select_for_update().get(tenant=tenant)
