"""The event stream's background work: the dispatcher (after each commit that wrote events) and its sweep."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from shared_apps.core.tasks import TenantScopedTask


@shared_task(base=TenantScopedTask, name="audit.events_dispatch", bind=True)
def events_dispatch(self: TenantScopedTask) -> int:
    """Hand the workspace's new events to every consumer; asks for itself again a second later while an older open
    transaction holds some back (in-process: waits for them a little, then leaves them to the sweep)."""
    from tenant_apps.audit import dispatch  # noqa: PLC0415  (dispatch enqueues this task)

    if self.request.is_eager:
        return dispatch.events_dispatch_settled().handed
    result = dispatch.events_dispatch()
    if result.held_back:
        self.apply_async(countdown=settings.EVENTS_DISPATCH_RETRY_SECONDS)
    return result.handed


@shared_task(name="audit.events_sweep")
def events_sweep() -> int:
    """Dispatch in every workspace whose stream has events a consumer has not read (beat): covers a dispatch task
    lost with its worker."""
    from tenant_apps.audit import dispatch  # noqa: PLC0415  (as above)

    return dispatch.events_sweep()
