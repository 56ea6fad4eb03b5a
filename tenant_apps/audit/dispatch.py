"""The one dispatcher of the event stream: hands each consumer the events it has not seen, in order.

Consumers (outgoing webhooks today; live updates, notifications and the activity feed later) register once, at
start-up, with `consumer_register(name, handle)`. After a transaction that wrote events commits, `dispatch_enqueue`
runs the `audit.events_dispatch` task in that workspace's schema (a Celery worker; in-process when there is no
broker). The task calls every consumer's `handle(events)` inside one transaction per consumer, with the consumer's
position (`EventCursor`) locked and advanced in the same transaction: a consumer's effects and its position commit
together, and a consumer that fails is retried from where it was, without holding the others back.

Positions are transaction ids, not row ids. Ids are drawn when a row is written, but rows become visible when their
transaction commits, so id 12 may appear after 13 was read. So a consumer's position moves only up to the oldest
transaction still running anywhere (`pg_snapshot_xmin`): every transaction below that line has ended, and an event not
visible yet belongs to a transaction at or above it, so a later dispatch reads it (the one its own commit asks for, or
the beat's sweep). Events at or above the line are handed out as soon as they are visible and listed by id in the
cursor (`handed`) until the line passes them, so none is handed out twice and none waits for another workspace's
transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

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


def events_dispatch() -> int:
    """Hand every consumer its new events, in the current workspace's schema; returns how many were handed out
    (summed over consumers). A consumer that fails is logged and retried from its position by the next dispatch."""
    handed = 0
    for consumer in consumers():
        try:
            handed += _dispatch_one(consumer)
        except Exception:
            logger.exception("event consumer failed; retried from its position", extra={"consumer": consumer.name})
    return handed


def _dispatch_one(consumer: Consumer) -> int:
    with transaction.atomic():
        cursor = EventCursor.objects.select_for_update().filter(consumer=consumer.name).first()
        if cursor is None:
            EventCursor.objects.bulk_create([EventCursor(consumer=consumer.name)], ignore_conflicts=True)
            cursor = EventCursor.objects.select_for_update().get(consumer=consumer.name)
        horizon = _horizon()
        handed = [int(pk) for pk in cursor.handed]
        events = list(
            Event.objects.filter(txid__gte=cursor.position).exclude(pk__in=handed).order_by("txid", "id")[: BATCH + 1]
        )
        next_position = horizon
        if len(events) > BATCH:
            # The rest next time: the position may not pass the first event left over.
            next_position = min(horizon, events[BATCH].txid)
            events = events[:BATCH]
        if events:
            consumer.handle(events)
        next_position = max(next_position, cursor.position)
        still = [*handed, *(event.pk for event in events)]
        if still and next_position > cursor.position:
            still = list(Event.objects.filter(pk__in=still, txid__gte=next_position).values_list("pk", flat=True))
        if events or next_position != cursor.position or still != handed:
            EventCursor.objects.filter(pk=cursor.pk).update(position=next_position, handed=sorted(still))
    return len(events)


def _horizon() -> int:
    """The oldest transaction still running: every transaction below it has ended."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
        return int(cursor.fetchone()[0])


def events_sweep() -> int:
    """Enqueue a dispatch in every workspace with events some consumer has not read yet; returns how many. Reads
    every schema at once (one statement per batch of schemas): for the beat only, never a request."""
    names = [consumer.name for consumer in consumers()]
    if not names:
        return 0
    found = dangerously_all_tenants(
        "SELECT 1 WHERE ((SELECT count(*) FROM {schema}.audit_eventcursor c WHERE c.consumer = ANY(%s)) < %s"
        " AND EXISTS (SELECT 1 FROM {schema}.audit_event))"
        " OR EXISTS (SELECT 1 FROM {schema}.audit_eventcursor c JOIN {schema}.audit_event e ON e.txid >= c.position"
        " AND NOT (c.handed @> to_jsonb(e.id)) WHERE c.consumer = ANY(%s))",
        params=[names, len(names), names],
        label=_("events sweep"),
    )
    schemas = dict(workspace_schemas())
    pending = {int(row[0]) for row in found.rows}
    for tenant_id in pending:
        dispatch_enqueue(schemas[tenant_id])
    return len(pending)
