"""The workspace's event stream: what happened, recorded once, read by everything that reacts (outgoing webhooks
now; live updates, notifications and the activity feed as further consumers of the same stream).

`event_emit(tenant=…)` is called by the service that makes the change, inside its transaction, with the object as
the API shows it. It writes one row into that workspace's outbox (`Event`) and, once the transaction commits, asks
the dispatcher to hand the new events to each consumer. A rolled-back change leaves no event; a committed one is
read by every consumer, each at its own position (`tenant_apps.audit.dispatch`).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_tenants.utils import schema_context

from tenant_apps.audit.models import Event
from tenants.db import connection, table_sql
from tenants.models import PUBLIC_SCHEMA

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

    from tenant_apps.audit.services import HasSchema


SYSTEM_ACTOR = "system"  # the stored actor label of an event no person caused


class EventType(models.TextChoices):
    """Every event the stream carries, with what it means (the endpoint form and the docs show these)."""

    PROJECT_CREATED = "project.created", _("A project was created")
    PROJECT_UPDATED = "project.updated", _("A project's name, description or visibility changed")
    PROJECT_ARCHIVED = "project.archived", _("A project was archived")
    PROJECT_DELETED = "project.deleted", _("A project was deleted")
    TASK_CREATED = "task.created", _("A task was created")
    TASK_UPDATED = "task.updated", _("A task's title, description, assignee, due date or labels changed")
    TASK_MOVED = "task.moved", _("A task changed column or position")
    TASK_DELETED = "task.deleted", _("A task was deleted")
    COMMENT_CREATED = "comment.created", _("A comment was added to a task")
    COMMENT_DELETED = "comment.deleted", _("A comment was deleted")
    DOCUMENT_UPLOADED = "document.uploaded", _("A document finished uploading")
    DOCUMENT_DELETED = "document.deleted", _("A document was deleted")
    MEMBER_JOINED = "member.joined", _("Someone joined the workspace")
    MEMBER_ROLE_CHANGED = "member.role_changed", _("A member's role changed")
    MEMBER_REMOVED = "member.removed", _("A member left or was removed")
    INVITATION_CREATED = "invitation.created", _("An invitation was sent")
    INVITATION_ACCEPTED = "invitation.accepted", _("An invitation was accepted")
    BILLING_PLAN_CHANGED = "billing.plan_changed", _("The workspace's plan changed")
    # Sent only by "Send test event" on one endpoint, never to the others.
    WEBHOOK_TEST = "webhook.test", _("A test event sent from the endpoint's page")


# Types an endpoint may subscribe to (the test event goes only where it is asked for).
SUBSCRIBABLE: tuple[str, ...] = tuple(str(t.value) for t in EventType if t is not EventType.WEBHOOK_TEST)


def new_event_id() -> str:
    """`evt_` + 12 hex digits of milliseconds + 16 random hex digits: unique, and sorts by time."""
    return f"evt_{int(time.time() * 1000):012x}{secrets.token_hex(8)}"


def event_emit(
    *,
    tenant: HasSchema,
    type: EventType,
    actor: AbstractBaseUser | None,
    data: dict[str, Any],
    project_id: int | None = None,
) -> str:
    """Record an event in `tenant`'s stream, inside the caller's transaction; returns its id. `project_id`: the
    project whose visibility decides who may see it (None: every member of the workspace)."""
    schema = tenant.schema_name
    if not schema or schema == PUBLIC_SCHEMA:
        raise ValueError("The public schema has no event stream; give the workspace the event belongs to.")
    event_type = EventType(type)
    event_id = new_event_id()
    label = actor.get_username() if actor is not None else SYSTEM_ACTOR
    with connection.cursor() as cursor:
        # Written by hand for the one thing the ORM cannot say: the writing transaction's id, in the same statement.
        cursor.execute(
            f"INSERT INTO {_event_table(schema)} "  # noqa: S608  (a quoted, validated schema name)
            "(event_id, type, occurred_at, actor_id, actor_label, data, project_id, txid) "
            "VALUES (%s, %s, %s, %s, %s, %s::jsonb, %s, pg_current_xact_id()::text::bigint)",
            [
                event_id,
                event_type.value,
                timezone.now(),
                actor.pk if actor is not None else None,
                label[:254],
                _json(data),
                project_id,
            ],
        )
    _dispatch_on_commit(schema)
    return event_id


def _event_table(schema: str) -> str:
    if connection.schema_name == schema:
        return table_sql(Event)
    with schema_context(schema):
        return table_sql(Event)


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, cls=DjangoJSONEncoder, separators=(",", ":"))


_MARK = "_atrium_events_schema"


def _dispatch_on_commit(schema: str) -> None:
    """One dispatch per workspace per transaction, however many events it wrote."""
    pending = connection.run_on_commit if connection.in_atomic_block else []
    if any(getattr(callback, _MARK, None) == schema for _sids, callback, *_rest in pending):
        return
    callback = _dispatcher(schema)
    setattr(callback, _MARK, schema)
    transaction.on_commit(callback)


def _dispatcher(schema: str) -> Callable[[], None]:
    def dispatch() -> None:
        from tenant_apps.audit.dispatch import dispatch_enqueue  # noqa: PLC0415  (dispatch imports this module)

        setattr(dispatch, _MARK, None)  # done: a later event of the same transaction (tests run many) asks again
        dispatch_enqueue(schema)

    return dispatch
