"""Webhook endpoints with a delivery, made directly (no event stream, no request): for sweeps and page tests. Runs in
the current schema."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from tenant_apps.audit.events import new_event_id
from tenant_apps.audit.models import Event
from tenant_apps.webhooks.models import Attempt, Delivery, DeliveryStatus, Endpoint
from tenant_apps.webhooks.services import secret_new

# Port 9 (discard) on loopback: nothing listens in tests, so an attempt fails at once and never leaves the machine.
NOWHERE = "http://127.0.0.1:9/hook"


@dataclass
class Hooked:
    endpoint: Endpoint
    delivery: Delivery
    event: Event


def endpoint_with_delivery(*, label: str = "", pk: int | None = None, url: str = NOWHERE, owner: Any = None) -> Hooked:
    event = Event.objects.create(
        event_id=new_event_id(),
        type="task.created",
        occurred_at=timezone.now(),
        actor=owner,
        data={"id": pk or 1, "title": f"{label} task"},
        txid=0,
    )
    extra = {"pk": pk} if pk is not None else {}
    endpoint = Endpoint.objects.create(
        url=url, description=f"{label} endpoint", secret=secret_new(), created_by=owner, **extra
    )
    delivery = Delivery.objects.create(
        endpoint=endpoint,
        event=event,
        status=DeliveryStatus.FAILED,
        attempts=1,
        last_status_code=500,
        last_attempt_at=timezone.now(),
        **extra,
    )
    Attempt.objects.create(
        delivery=delivery, number=1, started_at=timezone.now(), response_status=500, response_body=f"{label} answer"
    )
    return Hooked(endpoint=endpoint, delivery=delivery, event=event)
