"""The event stream's background work: the dispatcher (after each commit that wrote events) and its sweep."""

from __future__ import annotations

from celery import shared_task

from shared_apps.core.tasks import TenantScopedTask
from tenants.db import connection


@shared_task(base=TenantScopedTask, name="audit.events_dispatch")
def events_dispatch() -> int:
    """Hand the workspace's new events to every consumer (clearing its "dispatch waiting" flag first)."""
    from tenant_apps.audit import dispatch  # noqa: PLC0415  (dispatch enqueues this task)

    return dispatch.dispatch_pending(str(connection.schema_name))


@shared_task(name="audit.events_sweep")
def events_sweep() -> int:
    """Dispatch in every workspace whose stream has events a consumer has not read (beat): covers a dispatch task
    lost with its worker."""
    from tenant_apps.audit import dispatch  # noqa: PLC0415  (as above)

    return dispatch.events_sweep()
