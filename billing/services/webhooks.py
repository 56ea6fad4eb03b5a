"""Webhooks: verify, store (the inbox), process by reading back from Stripe."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import stripe_client
from billing.models import WebhookEvent
from billing.services.base import BillingError, stripe_field
from billing.services.sync import SyncResult, customer_sync
from shared_apps.core.jsonsafe import json_depth_check

logger = logging.getLogger(__name__)


WEBHOOK_TOLERANCE = 300  # seconds: older signatures are refused (replays)
WEBHOOK_FUTURE_SKEW = 30  # seconds of clock difference tolerated before a timestamp counts as "from the future"
WEBHOOK_MAX_BYTES = 512 * 1024
EVENT_MAX_ATTEMPTS = 12


HANDLED_EVENTS = frozenset(
    {
        "checkout.session.completed",
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "invoice.paid",
        "invoice.payment_failed",
        "customer.updated",
    }
)


class WebhookRefused(BillingError):
    pass


def _signature_time(header: str) -> int:
    stamps = [part.split("=", 1)[1] for part in header.split(",") if part.strip().startswith("t=")]
    if len(stamps) != 1 or not stamps[0].strip().isdigit() or len(stamps[0]) > 12:
        raise WebhookRefused(_("The Stripe-Signature header has no valid timestamp."))
    return int(stamps[0])


def webhook_verify(*, payload: bytes, header: str, now: float | None = None) -> dict[str, Any]:
    """The event, if Stripe signed it with our secret within the tolerance (300 s in the past, and not from the
    future); WebhookRefused otherwise."""
    if not header or len(header) > 2048:
        raise WebhookRefused(_("The Stripe-Signature header is missing."))
    if len(payload) > WEBHOOK_MAX_BYTES:
        raise WebhookRefused(_("The event is larger than any Stripe event."))
    now = time.time() if now is None else now
    if _signature_time(header) > now + WEBHOOK_FUTURE_SKEW:
        raise WebhookRefused(_("The signature's timestamp is in the future."))
    try:
        text = payload.decode("utf-8")
        event = stripe_client.stripe.Webhook.construct_event(
            text, header, stripe_client.webhook_secret(), WEBHOOK_TOLERANCE
        )
        data = json_depth_check(event.to_dict() if hasattr(event, "to_dict") else dict(event))
    except stripe_client.stripe.SignatureVerificationError as exc:
        raise WebhookRefused(_("Signature refused: %(value)s.") % {"value": exc.user_message or "no match"}) from exc
    # RecursionError: JSON nested deeper than the decoder goes (JsonTooDeep, a ValueError, for a little less)
    except (UnicodeDecodeError, ValueError, TypeError, IndexError, AttributeError, KeyError, RecursionError) as exc:
        raise WebhookRefused(_("The event could not be read.")) from exc
    if "\x00" in text or "\\u0000" in text:  # PostgreSQL cannot store NUL; Stripe never sends one
        raise WebhookRefused(_("The event could not be read."))
    if not isinstance(data.get("id"), str) or not isinstance(data.get("type"), str) or not data["id"].startswith("evt"):
        raise WebhookRefused(_("The event has no id or type."))
    return data


def event_refs(event: dict[str, Any]) -> tuple[int | None, str]:
    obj = stripe_field(stripe_field(event, "data", {}), "object", {})
    metadata = stripe_field(obj, "metadata", {}) or stripe_field(
        stripe_field(stripe_field(obj, "parent", {}), "subscription_details", {}), "metadata", {}
    )
    tenant_id = str(stripe_field(metadata, "tenant_id", ""))
    customer = stripe_field(obj, "id") if stripe_field(obj, "object") == "customer" else stripe_field(obj, "customer")
    return (int(tenant_id) if tenant_id.isdigit() and len(tenant_id) < 18 else None), str(customer or "")[:64]


@dataclass
class ProcessResult:
    event_id: str
    processed: bool
    skipped: str = ""
    error: str = ""
    sync: SyncResult | None = None


def _customer_of(client: Any, event: WebhookEvent) -> str:
    obj = stripe_field(stripe_field(event.payload, "data", {}), "object", {})
    if event.type == "checkout.session.completed":
        session = client.v1.checkout.sessions.retrieve(str(obj["id"]))
        return str(stripe_field(session, "customer", ""))
    if event.type == "customer.updated":
        return str(obj["id"])
    return str(stripe_field(obj, "customer", ""))


def webhook_event_process(*, event_pk: int, replay: bool = False, dry_run: bool = False) -> ProcessResult:
    """Process one stored event: name the customer, read it back from Stripe (`customer_sync`), mark it processed.

    The event row stays locked meanwhile, so the same event processed twice at once has one effect. A failure leaves
    it unprocessed, with the error and the attempt counted, for the retry. `replay` processes it again even if done;
    `dry_run` runs it all and rolls it back, returning what would change.
    """
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update().get(pk=event_pk)
        if event.processed_at is not None and not (replay or dry_run):
            return ProcessResult(event.event_id, processed=False, skipped="already processed")
        if event.type not in HANDLED_EVENTS:
            if not dry_run:
                event.processed_at = timezone.now()
                event.save(update_fields=["processed_at"])
            return ProcessResult(event.event_id, processed=not dry_run, skipped="not an event Atrium handles")
        try:
            with transaction.atomic():
                client = stripe_client.client()
                customer_id = _customer_of(client, event)
                sync = customer_sync(customer_id=customer_id) if customer_id else SyncResult(None, note="no customer")
                if dry_run:
                    transaction.set_rollback(True)
        except Exception as exc:  # noqa: BLE001  (any failure leaves the event for the retry, with its reason)
            if dry_run:
                return ProcessResult(event.event_id, processed=False, error=repr(exc)[:500])
            event.attempts += 1
            event.last_error = repr(exc)[:2000]
            event.save(update_fields=["attempts", "last_error"])
            logger.warning("webhook event failed", extra={"event": event.event_id, "error": event.last_error})
            return ProcessResult(event.event_id, processed=False, error=event.last_error)
        if dry_run:
            return ProcessResult(event.event_id, processed=False, sync=sync)
        event.attempts += 1
        event.last_error = ""
        event.processed_at = timezone.now()
        event.save(update_fields=["attempts", "last_error", "processed_at"])
        return ProcessResult(event.event_id, processed=True, sync=sync)
