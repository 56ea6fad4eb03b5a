"""Side effects after commit: a task is enqueued only once the rows it reads exist for everyone."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue_on_commit(task: Any, /, *, schema_name: str | None = None, **kwargs: Any) -> None:
    """`task.delay(**kwargs)` after the current transaction commits (at once outside one).

    `schema_name` runs the task in that tenant's schema (the schema it is enqueued from otherwise). What was
    committed stays committed whatever happens here: a broker that cannot be reached is logged, not raised, and the
    caller's page or command reports its own success.
    """

    def send() -> None:
        try:
            if schema_name is None:
                task.delay(**kwargs)
            else:
                from django_tenants.utils import schema_context

                with schema_context(schema_name):
                    task.delay(**kwargs)
        except Exception:
            logger.exception("could not enqueue a task", extra={"task": getattr(task, "name", repr(task))})

    transaction.on_commit(send)
