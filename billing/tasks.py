"""Billing's background work (public schema: plain tasks). Thin: each calls a service."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from celery import shared_task
from django.conf import settings
from django.core.cache import caches
from django.utils import timezone

from billing import selectors, services
from shared_apps.core.transactions import UNREACHABLE, enqueue_on_commit
from tenants.models import Tenant

logger = logging.getLogger(__name__)


@shared_task(bind=True, name="billing.process_event", max_retries=services.EVENT_MAX_ATTEMPTS)
def process_event(self: Any, *, event_pk: int) -> dict[str, object]:
    """Process a stored webhook event; on failure it stays unprocessed and is retried (backoff up to an hour; the
    minute sweep re-enqueues it too, e.g. when tasks run in-process)."""
    result = services.webhook_event_process(event_pk=event_pk)
    if result.error and not self.request.is_eager:
        raise self.retry(countdown=min(30 * 2**self.request.retries, 3600))
    return {"event": result.event_id, "processed": result.processed, "error": result.error}


def webhooks_retry_unprocessed(*, now: datetime | None = None) -> int:
    """Re-enqueue stored events still unprocessed a minute after they arrived (beat, every minute): the inbox row
    is the queue, so neither a lost message nor a failed handler loses an event."""
    now = now or timezone.now()
    pks = selectors.events_unprocessed(
        received_before=now - timedelta(minutes=1), max_attempts=services.EVENT_MAX_ATTEMPTS
    )
    for pk in pks:
        enqueue_on_commit(process_event, event_pk=pk)
    return len(pks)


@shared_task(name="billing.retry_unprocessed_events")
def retry_unprocessed_events() -> int:
    return webhooks_retry_unprocessed()


@shared_task(bind=True, name="billing.trial_start", max_retries=8)
def trial_start(self: Any, *, tenant_id: int) -> str:
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        return "gone"
    try:
        account = services.trial_start(tenant=tenant)
    except services.BillingUnavailable:
        if self.request.is_eager:
            raise
        raise self.retry(countdown=min(30 * 2**self.request.retries, 3600)) from None
    return account.status


@shared_task(bind=True, name="billing.seats_sync", max_retries=10)
def seats_sync(self: Any, *, tenant_id: int) -> str:
    """The debounced seat push: runs once the burst's quiet period is over (the countdown it was queued with); in
    process (no broker) it leaves the work to the 15-second sweep."""
    caches["default"].delete(f"billing:seat-sync-queued:{tenant_id}")
    try:
        result = services.seats_sync(tenant_id=tenant_id)
    except services.BillingUnavailable:
        if self.request.is_eager:
            return "unavailable"
        raise self.retry(countdown=30) from None
    return "pushed" if result and result.pushed else "nothing to push"


def seats_sync_schedule(tenant_id: int) -> None:
    """After a seat change: mark it and queue one delayed sync per burst."""
    if not services.seats_mark_changed(tenant_id=tenant_id):
        return
    delay = int(settings.BILLING_SEAT_SYNC_DEBOUNCE)
    if delay <= 0:
        services.seats_sync(tenant_id=tenant_id, force=True)
        return
    if caches["default"].add(f"billing:seat-sync-queued:{tenant_id}", 1, timeout=delay + 5):
        try:
            seats_sync.apply_async(kwargs={"tenant_id": tenant_id}, countdown=delay + 1)
        except UNREACHABLE:
            # The change is marked in the database: the 15-second sweep (seats_sync_due) pushes it.
            logger.warning("broker unreachable: the seat sync is left to the sweep", extra={"tenant_id": tenant_id})


@shared_task(name="billing.seats_sync_due")
def seats_sync_due() -> int:
    return services.seats_sync_due()


@shared_task(name="billing.seats_drift_check")
def seats_drift_check() -> int:
    return len(services.seats_drift_check())


@shared_task(name="billing.dunning_check")
def dunning_check() -> int:
    return services.dunning_check()
