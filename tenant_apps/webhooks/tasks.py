"""Outgoing webhooks' background work: one attempt of one delivery, and the beat's sweep for retries that are due."""

from __future__ import annotations

from celery import shared_task

from shared_apps.core.tasks import TenantScopedTask


@shared_task(base=TenantScopedTask, name="webhooks.deliver")
def deliver(*, delivery_id: int) -> str:
    """Make the delivery's next attempt if it is due (a second copy of this task finds it claimed and stops)."""
    from tenant_apps.webhooks.services import delivery_attempt  # noqa: PLC0415  (services enqueue this task)

    return delivery_attempt(delivery_id=delivery_id)


@shared_task(name="webhooks.retry_due")
def retry_due() -> int:
    """Enqueue every due retry in every workspace (beat, every 30 seconds)."""
    from tenant_apps.webhooks.services import retries_enqueue_due  # noqa: PLC0415  (as above)

    return retries_enqueue_due()
