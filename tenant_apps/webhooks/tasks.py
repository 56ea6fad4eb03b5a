"""Outgoing webhooks' background work (on the `webhooks` queue): a workspace's due deliveries, a batch of given
deliveries' next attempts (a resend, a test event, a retry's countdown), and the beat's sweep for retries that are
due."""

from __future__ import annotations

from celery import shared_task

from shared_apps.core.tasks import TenantScopedTask


@shared_task(base=TenantScopedTask, name="webhooks.deliver_due")
def deliver_due() -> int:
    """Send a batch of the workspace's due deliveries; a full batch enqueues the next (one run waits at most)."""
    from tenant_apps.webhooks.sending import deliveries_send_due  # noqa: PLC0415  (sending enqueues this task)

    return deliveries_send_due()


@shared_task(base=TenantScopedTask, name="webhooks.deliver_batch")
def deliver_batch(*, delivery_ids: list[int]) -> dict[int, str]:
    """Make the next attempt of each of these deliveries that is due (one already claimed elsewhere is skipped)."""
    from tenant_apps.webhooks.sending import deliveries_send  # noqa: PLC0415  (sending enqueues this task)

    return deliveries_send(delivery_ids=delivery_ids)


@shared_task(base=TenantScopedTask, name="webhooks.deliver")
def deliver(*, delivery_id: int) -> dict[int, str]:
    """One delivery (messages queued before batches existed)."""
    from tenant_apps.webhooks.sending import deliveries_send  # noqa: PLC0415  (as above)

    return deliveries_send(delivery_ids=[delivery_id])


@shared_task(name="webhooks.retry_due")
def retry_due() -> int:
    """Enqueue every due retry in every workspace (beat, every 30 seconds)."""
    from tenant_apps.webhooks.sending import retries_enqueue_due  # noqa: PLC0415  (as above)

    return retries_enqueue_due()
