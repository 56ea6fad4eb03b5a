"""Celery plumbing shared by every app's tasks.

- Every task runs in the schema of the tenant that enqueued it (tenant-schemas-celery puts the schema in the message
  headers). Tasks that work on a tenant's data derive from `TenantScopedTask`: enqueued outside any tenant, they are
  refused rather than run against the public schema.
- The request context (request id, client IP, user agent) travels with the message too, so an audit entry written by
  a task says where the change came from, like one written by the request itself.

Apps declare tasks with `celery.shared_task`; the application (`config.celery`) binds them.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from celery.signals import before_task_publish, task_postrun, task_prerun
from django.db import connection
from tenant_schemas_celery.task import TenantTask

from shared_apps.core import context

CONTEXT_HEADER = "atrium_context"


class TenantRequired(RuntimeError):
    pass


class TenantScopedTask(TenantTask):
    abstract = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if getattr(connection, "schema_name", "public") == "public":
            raise TenantRequired(f"Task {self.name} works on a tenant's data and was enqueued outside any tenant.")
        return super().__call__(*args, **kwargs)


@before_task_publish.connect(dispatch_uid="atrium.context.publish")
def _publish_context(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    if headers is not None:
        headers[CONTEXT_HEADER] = context.current().as_headers()


_tokens: dict[str, Any] = {}


@task_prerun.connect(dispatch_uid="atrium.context.prerun")
def _enter_context(task_id: str | None = None, task: Any = None, **kwargs: Any) -> None:
    request = getattr(task, "request", None)
    if request is None or getattr(request, "is_eager", False):
        return  # eager tasks run inside the caller and already see its context
    data = (getattr(request, "headers", None) or {}).get(CONTEXT_HEADER) or request.get(CONTEXT_HEADER)
    manager = context.bound(context.RequestContext.from_headers(data))
    manager.__enter__()
    _tokens[task_id or ""] = manager


@task_postrun.connect(dispatch_uid="atrium.context.postrun")
def _leave_context(task_id: str | None = None, **kwargs: Any) -> None:
    manager = _tokens.pop(task_id or "", None)
    if manager is not None:
        manager.__exit__(None, None, None)


@shared_task(name="core.outbox_flush")
def outbox_flush() -> int:
    """Send the tasks whose enqueueing failed while the broker was unreachable (beat, every 10 seconds)."""
    from shared_apps.core.transactions import outbox_flush as flush  # noqa: PLC0415  (this module loads with the Celery app, before models)

    return flush()


@shared_task(name="core.effects_purge")
def effects_purge() -> int:
    """Forget the effects recorded more than EFFECT_RETENTION ago (beat, daily)."""
    from shared_apps.core.effects import effects_purge as purge  # noqa: PLC0415  (loads before models, as above)

    return purge()
