"""The product's events in the workspace's event stream: tasks and comments as the API shows them, recorded by the
service that makes the change, inside its transaction (`tenant_apps.audit.events.event_emit`).

`task.updated` also carries `previous`: the former values of the fields that changed (as Stripe's
`previous_attributes`), so a consumer can tell "assigned to someone new" from any other edit.
"""

from __future__ import annotations

from typing import Any

from shared_apps.accounts.models import User
from tenant_apps.audit.events import EventType, event_emit
from tenant_apps.projects.models import Comment, Task
from tenant_apps.projects.representations import comment_data, task_data
from tenants.db import connection


def task_event(type: EventType, *, task: Task, acting_user: User | None, previous: dict[str, Any] | None = None) -> str:
    data = task_data(task)
    if previous:
        data["previous"] = previous
    return event_emit(tenant=connection, type=type, actor=acting_user, data=data, project_id=task.project_id)


def comment_event(type: EventType, *, comment: Comment, project_id: int, acting_user: User | None) -> str:
    data = comment_data(comment)
    return event_emit(tenant=connection, type=type, actor=acting_user, data=data, project_id=project_id)
