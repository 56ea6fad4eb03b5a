"""Writing the audit log: `audit_record(tenant=…)` writes into that tenant's own log from whichever schema the code
runs in (a workspace's page, the root domain's invitation pages, an operator's admin action, a command, a task).

Where the change came from (client IP, user agent) is read from the request context that the middleware (and Celery,
for tasks) sets, never from a `request` threaded through services. The actor is `settings.AUTH_USER_MODEL`, referenced
lazily: the audit log imports no account code, so account services can audit their own writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from django.db.models import Model
from django_tenants.utils import schema_context

from shared_apps.core.context import current
from tenant_apps.audit.actions import AuditAction
from tenant_apps.audit.models import AuditEntry
from tenants.db import connection, insert_one
from tenants.models import PUBLIC_SCHEMA

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser


class HasSchema(Protocol):
    """A tenant as audit needs it: a Tenant row or a request's route snapshot."""

    @property
    def schema_name(self) -> str: ...


class UnknownAuditAction(ValueError):
    pass


def audit_record(
    *,
    tenant: HasSchema,
    action: AuditAction,
    actor: AbstractBaseUser | None,
    target: Model | None = None,
    metadata: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append an entry to `tenant`'s audit log (inside the caller's transaction, if any)."""
    action = _checked(action)
    schema = _schema_of(tenant)
    fields = _fields(action, actor, target, metadata)
    if connection.schema_name == schema:
        return insert_one(AuditEntry(**fields))
    with schema_context(schema):
        return insert_one(AuditEntry(**fields))


def audit_record_many(
    *,
    tenant: HasSchema,
    action: AuditAction,
    actor: AbstractBaseUser | None,
    target: Model | None = None,
    metadata_list: Sequence[dict[str, Any]],
) -> list[AuditEntry]:
    """One entry per item of `metadata_list` (same action, actor and target), written in one INSERT: a change that
    touches many people at once (sharing a project with twenty members) stays one entry per person and a fixed
    number of queries."""
    action = _checked(action)
    schema = _schema_of(tenant)
    entries = [AuditEntry(**_fields(action, actor, target, metadata)) for metadata in metadata_list]
    if not entries:
        return []
    if connection.schema_name == schema:
        return AuditEntry.objects.bulk_create(entries)
    with schema_context(schema):
        return AuditEntry.objects.bulk_create(entries)


def _checked(action: AuditAction) -> AuditAction:
    if isinstance(action, AuditAction):
        return action
    try:
        return AuditAction(action)
    except ValueError as exc:
        raise UnknownAuditAction(f"{action!r} is not an AuditAction; add it (with its label) first.") from exc


def _schema_of(tenant: HasSchema) -> str:
    schema = tenant.schema_name
    if not schema or schema == PUBLIC_SCHEMA:
        raise ValueError("The public schema has no audit log; give the workspace the entry belongs to.")
    return schema


def _fields(
    action: AuditAction, actor: AbstractBaseUser | None, target: Model | None, metadata: dict[str, Any] | None
) -> dict[str, Any]:
    context = current()
    label = actor.get_username() if actor is not None else "system"
    if context.impersonator:
        # A platform operator signed in as this member (with writes allowed): the entry names both.
        label = f"{context.impersonator} as {label}"
        metadata = {**(metadata or {}), "impersonator": context.impersonator}
    if context.api_key_id is not None:
        # Done through an API key (its authentication marked the request): which one, never its secret.
        metadata = {**(metadata or {}), "api_key": {"id": context.api_key_id, "prefix": context.api_key_prefix}}
    return {
        "action": action.value,
        "actor": actor,
        "actor_label": label[:254],
        "target_type": target._meta.label_lower if target is not None else "",
        "target_id": str(target.pk) if target is not None else "",
        "target_label": str(target)[:254] if target is not None else "",
        "ip_address": context.ip,
        "user_agent": context.user_agent,
        "metadata": metadata or {},
    }
