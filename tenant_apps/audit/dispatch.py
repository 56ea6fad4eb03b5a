"""The one dispatcher of the event stream: hands each consumer the events it has not seen, in order.

Consumers (outgoing webhooks today; live updates, notifications and the activity feed later) register once, at
start-up, with `consumer_register(name, handle)`. After a transaction that wrote events commits, `dispatch_enqueue`
runs the `audit.events_dispatch` task in that workspace's schema (a Celery worker; in-process when there is no
broker). The task calls every consumer's `handle(events)` inside one transaction per consumer, with the consumer's
position (`EventCursor`) locked and advanced in the same transaction: a consumer's effects and its position commit
together, and a consumer that fails is retried from where it was, without holding the others back.

Positions are transaction ids, not row ids. Ids are drawn when a row is written, but rows become visible when their
transaction commits, so id 12 may appear after 13 was read. An event is handed out only once every transaction
older than the oldest one still running has ended (`pg_snapshot_xmin`): nothing can appear below that line later.
Events held back because an older transaction was still open are picked up by the next dispatch, which the task asks
for itself a second later (and the beat's sweep covers a lost task). Consumers are idempotent: a batch cut short by
the batch size may be handed out again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from shared_apps.core.transactions import enqueue_on_commit
from tenant_apps.audit.models import Event, EventCursor
from tenants.cross_schema import dangerously_all_tenants, workspace_schemas
from tenants.db import connection

logger = logging.getLogger(__name__)

Handler = Callable[[Sequence[Event]], None]
BATCH = 500


@dataclass(frozen=True)
class Consumer:
    name: str
    handle: Handler


_consumers: dict[str, Consumer] = {}


def consumer_register(name: str, handle: Handler) -> None:
    """Add a consumer of every workspace's stream (from its app's `ready()`)."""
    _consumers[name] = Consumer(name=name, handle=handle)


def consumers() -> list[Consumer]:
    return list(_consumers.values())


def dispatch_enqueue(schema: str) -> None:
    """Run the dispatcher in `schema`'s workspace, after the current transaction (at once outside one)."""
    from tenant_apps.audit.tasks import events_dispatch  # noqa: PLC0415  (the task module imports this one)

    enqueue_on_commit(events_dispatch, schema_name=schema)


@dataclass
class Dispatched:
    handed: int = 0  # events handed to consumers (summed over consumers)
    held_back: bool = False  # events exist that an older open transaction keeps back for now


def events_dispatch() -> Dispatched:
    """Hand every consumer its new events, in the current workspace's schema."""
    result = Dispatched()
    for consumer in consumers():
        try:
            handed, held = _dispatch_one(consumer)
        except Exception:
            logger.exception(
                "event consumer failed; it will be retried from its position", extra={"consumer": consumer.name}
            )
            result.held_back = True
            continue
        result.handed += handed
        result.held_back = result.held_back or held
    return result


def events_dispatch_settled(*, wait_seconds: float | None = None) -> Dispatched:
    """Dispatch, then again while events are held back by older open transactions, for up to `wait_seconds` (used
    when running in-process, where no task can be scheduled for later)."""
    limit = settings.EVENTS_DISPATCH_SETTLE_SECONDS if wait_seconds is None else wait_seconds
    deadline = time.monotonic() + limit
    total = Dispatched()
    while True:
        result = events_dispatch()
        total.handed += result.handed
        total.held_back = result.held_back
        if not result.held_back or time.monotonic() >= deadline:
            return total
        time.sleep(0.05)


def _dispatch_one(consumer: Consumer) -> tuple[int, bool]:
    with transaction.atomic():
        EventCursor.objects.get_or_create(consumer=consumer.name)
        cursor = EventCursor.objects.select_for_update().get(consumer=consumer.name)
        horizon, own = _horizon()
        events = list(
            Event.objects.filter(txid__gte=cursor.position)
            .filter(_final(horizon, own))
            .order_by("txid", "id")[: BATCH + 1]
        )
        next_position = horizon
        if len(events) > BATCH:
            # Cut at a transaction boundary: the last transaction's events all come next time (or, if one transaction
            # alone fills the batch, all of its events now).
            last = events[BATCH].txid
            events = [event for event in events[:BATCH] if event.txid != last]
            next_position = last
            if not events:
                events = list(Event.objects.filter(txid=last).order_by("id"))
                next_position = last + 1
        if events:
            consumer.handle(events)
        if next_position > cursor.position:
            EventCursor.objects.filter(pk=cursor.pk).update(position=next_position)
        held = (
            Event.objects.filter(txid__gte=max(next_position, cursor.position)).exclude(_final(horizon, own)).exists()
        )
    return len(events), held


def _horizon() -> tuple[int, int | None]:
    """(the oldest transaction still running, this transaction's own id if it has one). Every transaction below the
    first has ended; events of our own transaction are ours to read (their consumers' effects commit with them)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint, "
            "pg_current_xact_id_if_assigned()::text::bigint"
        )
        horizon, own = cursor.fetchone()
    return int(horizon), (int(own) if own is not None else None)


def _final(horizon: int, own: int | None) -> Q:
    condition = Q(txid__lt=horizon)
    if own is not None:
        condition |= Q(txid=own)
    return condition


def events_sweep() -> int:
    """Enqueue a dispatch in every workspace with events some consumer has not read yet; returns how many. Reads
    every schema at once (one statement per batch of schemas): for the beat only, never a request."""
    names = [consumer.name for consumer in consumers()]
    if not names:
        return 0
    found = dangerously_all_tenants(
        "SELECT 1 WHERE EXISTS (SELECT 1 FROM {schema}.audit_event e WHERE e.txid >= COALESCE("
        "(SELECT min(c.position) FROM {schema}.audit_eventcursor c WHERE c.consumer = ANY(%s) HAVING count(*) = %s),"
        " 0))",
        params=[names, len(names)],
        label="events sweep",
    )
    schemas = dict(workspace_schemas())
    pending = {int(row[0]) for row in found.rows}
    for tenant_id in pending:
        dispatch_enqueue(schemas[tenant_id])
    return len(pending)
