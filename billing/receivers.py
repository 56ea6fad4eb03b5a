"""Billing listens to accounts: a member or invitation change schedules the seat sync."""

from __future__ import annotations

import logging
from typing import Any

from billing.services import BillingUnavailable
from billing.tasks import seats_sync_schedule

logger = logging.getLogger(__name__)


def on_seats_changed(sender: Any, tenant_id: int, **kwargs: Any) -> None:
    try:
        seats_sync_schedule(tenant_id)
    except BillingUnavailable:
        logger.warning("seat sync not scheduled; the nightly drift check catches it", extra={"tenant_id": tenant_id})
