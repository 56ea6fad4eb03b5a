"""Side effects after commit: a task is enqueued only once the rows it reads exist for everyone, and is never lost
because the broker was unreachable at that moment."""

from __future__ import annotations

import logging
from typing import Any

from celery import current_app
from django.db import connection, transaction
from django_tenants.utils import schema_context
from kombu.exceptions import OperationalError as BrokerUnreachable

from shared_apps.core import context
from shared_apps.core.models import OutboxTask

logger = logging.getLogger(__name__)

# What publishing raises when the broker cannot be reached (kombu wraps the transport's errors; a socket error may
# come through as is).
UNREACHABLE = (BrokerUnreachable, ConnectionError, TimeoutError, OSError)


def enqueue_on_commit(task: Any, /, *, schema_name: str | None = None, **kwargs: Any) -> None:
    """`task.delay(**kwargs)` after the current transaction commits (at once outside one).

    `schema_name` runs the task in that tenant's schema (the schema it is enqueued from otherwise). What was
    committed stays committed whatever happens here: when the broker cannot be reached the task goes to the outbox
    table (sent by `outbox_flush` once the broker is back) with a warning, and the caller's page or command reports its
    own success. Any other error is logged, not raised.
    """

    schema: str = schema_name or str(getattr(connection, "schema_name", "public"))
    transaction.on_commit(lambda: publish_or_keep(task, schema_name=schema_name, schema=schema, kwargs=kwargs))


def publish_or_keep(task: Any, *, schema_name: str | None, schema: str, kwargs: dict[str, Any]) -> bool:
    """`task.delay(**kwargs)` in `schema_name` (the current schema if None) now; into the outbox (as `schema`) when
    the broker cannot be reached. Returns False only when the task is neither published nor kept (logged)."""
    try:
        _publish(task, schema_name=schema_name, kwargs=kwargs)
    except UNREACHABLE as error:
        return _outbox_put(task, schema, kwargs, error)
    except Exception:
        logger.exception("could not enqueue a task", extra={"task": getattr(task, "name", repr(task))})
        return False
    return True


def _publish(task: Any, *, schema_name: str | None, kwargs: dict[str, Any]) -> None:
    if schema_name is None:
        task.delay(**kwargs)
        return

    with schema_context(schema_name):
        task.delay(**kwargs)


def _outbox_put(task: Any, schema: str, kwargs: dict[str, Any], error: BaseException) -> bool:

    name = getattr(task, "name", repr(task))
    try:
        OutboxTask.objects.create(
            task=name,
            kwargs=kwargs,
            schema_name=schema,
            context=context.current().as_headers(),
            last_error=repr(error)[:500],
        )
    except Exception:
        logger.exception("broker unreachable and the outbox could not keep the task", extra={"task": name})
        return False
    logger.warning("broker unreachable: task kept in the outbox until it is back", extra={"task": name})
    return True


def outbox_flush(*, limit: int = 500) -> int:
    """Send what the outbox holds, oldest first, each in its own schema and request context; rows are deleted as
    their task is handed to the broker. Stops at the first failure (the broker is still away). Returns how many were
    sent. Concurrent flushes skip each other's rows."""

    sent = 0
    with transaction.atomic():
        rows = list(OutboxTask.objects.select_for_update(skip_locked=True).order_by("pk")[:limit])
        for row in rows:
            task = current_app.tasks[row.task]
            try:
                with schema_context(row.schema_name), context.bound(context.RequestContext.from_headers(row.context)):
                    task.delay(**row.kwargs)
            except UNREACHABLE as error:
                OutboxTask.objects.filter(pk=row.pk).update(attempts=row.attempts + 1, last_error=repr(error)[:500])
                logger.warning("broker still unreachable: %d task(s) wait in the outbox", len(rows) - sent)
                break
            row.delete()
            sent += 1
    if sent:
        logger.info("sent %d task(s) from the outbox", sent)
    return sent
