"""The webhook inbox: an event is stored once (unique on its id) together with the enqueue of its processing."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from billing import services
from billing.models import WebhookEvent
from billing.tasks import process_event
from shared_apps.core.transactions import enqueue_on_commit


def webhook_store(event: dict[str, Any]) -> tuple[WebhookEvent, bool]:
    """Store the event once (unique on its id) and, in the same transaction, enqueue its processing (on commit; the
    row is the queue: a sweep re-enqueues what was stored and not processed). Returns (row, created)."""
    tenant_id, customer_id = services.event_refs(event)
    try:
        with transaction.atomic():
            row = WebhookEvent.objects.create(
                event_id=event["id"][:255],
                type=str(event["type"])[:100],
                created=services.timestamp(event.get("created")) or timezone.now(),
                livemode=bool(event.get("livemode", False)),
                tenant_id=tenant_id,
                customer_id=customer_id,
                payload=event,
            )
            enqueue_on_commit(process_event, event_pk=row.pk)
    except IntegrityError:  # a duplicate (or a concurrent delivery that committed first): its callback is dropped
        return WebhookEvent.objects.get(event_id=event["id"][:255]), False
    return row, True
