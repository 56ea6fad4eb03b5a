"""The one dispatcher of the event stream: hands each consumer the events it has not seen, in order.

Consumers (outgoing webhooks, live updates, notifications) register once, at start-up, with
`consumer_register(name, handle)`. After a transaction that wrote events commits, `dispatch_enqueue` runs the
`audit.events_dispatch` task in that workspace's schema (a Celery worker; without a broker, a thread of the
committing process), unless a dispatch of that workspace is already waiting: at most one waits per workspace
(shared_apps/core/coalesce.py). The task clears that flag before it reads, then hands out everything there is, batch
after batch (up to BATCH events each). A batch is one transaction: every consumer's position (`EventCursor`) locked
at once, the events read once for the consumers at the same position, each consumer's `handle(events)` in a savepoint
of its own, and the positions written in one statement. A consumer's effects and its position commit together; a
consumer that fails is rolled back to its savepoint, logged, and retried from where it was by the next dispatch,
without holding the others back.

Positions are transaction ids, not row ids. Ids are drawn when a row is written, but rows become visible when their
transaction commits, so id 12 may appear after 13 was read. So a consumer's position moves only up to the oldest
transaction still running anywhere (`pg_snapshot_xmin`): every transaction below that line has ended, and an event not
visible yet belongs to a transaction at or above it, so a later dispatch reads it (the one its own commit asks for, or
the beat's sweep). Events at or above the line are handed out as soon as they are visible and listed by id in the
cursor (`handed`) until the line passes them, so none is handed out twice and none waits for another workspace's
transaction.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from shared_apps.core.coalesce import enqueue_once_on_commit, release
from shared_apps.core.transactions import enqueue_on_commit
from tenant_apps.audit.models import Event, EventCursor
from tenants.cross_schema import dangerously_all_tenants, workspace_schemas
from tenants.db import connection, table_sql

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


def dispatch_key(schema: str) -> str:
    """The "a dispatch is waiting" flag of `schema`'s workspace (shared_apps/core/coalesce.py)."""
    return f"events-dispatch:{schema}"


def dispatch_enqueue(schema: str, *, coalesced: bool = True) -> None:
    """Run the dispatcher in `schema`'s workspace, after the current transaction (at once outside one), unless a
    dispatch of that workspace is already waiting (it will read this transaction's events). `coalesced=False`
    enqueues one whatever is waiting (the sweep: a flag may outlive a lost task)."""
    from tenant_apps.audit.tasks import events_dispatch  # noqa: PLC0415  (the task module imports this one)

    if coalesced:
        enqueue_once_on_commit(events_dispatch, key=dispatch_key(schema), schema_name=schema)
    else:
        enqueue_on_commit(events_dispatch, schema_name=schema)


def dispatch_pending(schema: str) -> int:
    """The task's body: clear the workspace's "waiting" flag first, then hand out everything there is."""
    release(dispatch_key(schema))
    return events_dispatch()


def events_dispatch() -> int:
    """Hand every consumer its new events, in the current workspace's schema, batch after batch until none is left;
    returns how many were handed out (summed over consumers). A consumer that fails is logged and retried from its
    position by the next dispatch, without holding the others back."""
    handed, more = _dispatch_batch()
    while more:  # each batch moves past the one before (a consumer that failed does not ask for more)
        count, more = _dispatch_batch()
        handed += count
    return handed


def _dispatch_batch() -> tuple[int, bool]:
    """One batch in one transaction: every cursor locked at once, each consumer in a savepoint of its own, the
    positions written in one statement. Returns (events handed out, summed over consumers; whether any consumer has
    more waiting)."""
    registered = consumers()
    if not registered:
        return 0, False
    with transaction.atomic():
        cursors = _cursors_locked([consumer.name for consumer in registered])
        horizon = _horizon()
        reads: dict[tuple[int, tuple[int, ...]], _Read] = {}
        moves: list[_Move] = []
        handed = 0
        more = False
        for consumer in registered:
            cursor = cursors[consumer.name]
            already = tuple(sorted(int(pk) for pk in cursor.handed))
            read = reads.get((cursor.position, already))
            if read is None:  # consumers at the same place share one read (the usual case)
                read = reads[(cursor.position, already)] = _read(cursor.position, already)
            if read.events:
                name = consumer.name
                try:
                    with transaction.atomic():  # a savepoint: a failing consumer undoes only its own effects
                        consumer.handle(read.events)
                except Exception:
                    logger.exception("event consumer failed; retried from its position", extra={"consumer": name})
                    continue
            handed += len(read.events)
            more = more or read.cut is not None
            target = horizon if read.cut is None else min(horizon, read.cut)
            moves.append(_Move(cursor, max(target, cursor.position), [*already, *(e.pk for e in read.events)]))
        _cursors_write(moves, reads)
    return handed, more


@dataclass(frozen=True)
class _Read:
    events: list[Event]
    cut: int | None  # the transaction id of the first event left for the next batch


@dataclass(frozen=True)
class _Move:
    cursor: EventCursor
    position: int
    handed: list[int]


def _read(position: int, handed: tuple[int, ...]) -> _Read:
    events = list(Event.objects.filter(txid__gte=position).exclude(pk__in=handed).order_by("txid", "id")[: BATCH + 1])
    if len(events) > BATCH:
        # The rest next time: the position may not pass the first event left over.
        return _Read(events[:BATCH], events[BATCH].txid)
    return _Read(events, None)


def _cursors_locked(names: list[str]) -> dict[str, EventCursor]:
    """Every consumer's position, locked (in name order, so two dispatches never wait on each other crosswise)."""
    query = EventCursor.objects.select_for_update().filter(consumer__in=names).order_by("consumer")
    found = {cursor.consumer: cursor for cursor in query}
    missing = [name for name in names if name not in found]
    if missing:
        EventCursor.objects.bulk_create([EventCursor(consumer=name) for name in missing], ignore_conflicts=True)
        found = {cursor.consumer: cursor for cursor in query.all()}
    return found


def _cursors_write(moves: list[_Move], reads: dict[tuple[int, tuple[int, ...]], _Read]) -> None:
    """The positions that changed, in one statement (written by hand: `bulk_update`'s CASE expressions cost more to
    build than the rest of a batch). An event stays listed as handed while it is at or above its
    consumer's new position (one query for the listed events whose transaction id this batch did not read)."""
    known = {event.pk: event.txid for read in reads.values() for event in read.events}
    unknown = {pk for move in moves if move.position > move.cursor.position for pk in move.handed if pk not in known}
    if unknown:
        known |= dict(Event.objects.filter(pk__in=unknown).values_list("pk", "txid"))
    changed = []
    for move in moves:
        still = move.handed
        if move.position > move.cursor.position:
            still = [pk for pk in move.handed if pk in known and known[pk] >= move.position]
        still = sorted(still)
        if move.position != move.cursor.position or still != sorted(int(pk) for pk in move.cursor.handed):
            move.cursor.position, move.cursor.handed = move.position, still
            changed.append(move.cursor)
    if changed:
        row = "(%s::bigint, %s::bigint, %s::jsonb)"
        params: list[Any] = []
        for cursor in changed:
            params += [cursor.pk, cursor.position, json.dumps(cursor.handed)]
        with connection.cursor() as db:
            db.execute(
                f"UPDATE {table_sql(EventCursor)} AS c SET position = v.position, handed = v.handed, "  # noqa: S608  (a quoted table name)
                f"updated_at = now() FROM (VALUES {', '.join([row] * len(changed))}) AS v (id, position, handed) "
                "WHERE c.id = v.id",
                params,
            )


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
        dispatch_enqueue(schemas[tenant_id], coalesced=False)
    return len(pending)
