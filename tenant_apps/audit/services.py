"""Writing the audit log. Call inside the tenant's schema (request, task, or `tenant_context`)."""

from __future__ import annotations

from typing import Any

from django.db.models import Model
from django.http import HttpRequest

from shared_apps.accounts.models import User
from tenant_apps.audit.models import AuditEntry
from tenants.db import connection
from tenants.models import PUBLIC_SCHEMA


def audit_record(
    *,
    action: str,
    actor: User | None,
    target: Model | None = None,
    request: HttpRequest | None = None,
    metadata: dict[str, Any] | None = None,
) -> AuditEntry:
    if connection.schema_name == PUBLIC_SCHEMA:
        raise RuntimeError("audit_record() writes to a tenant's audit log; call it inside that tenant's schema.")
    ip = user_agent = None
    if request is not None:
        ip = request.META.get("REMOTE_ADDR")
        user_agent = request.META.get("HTTP_USER_AGENT", "")[:512]
    return AuditEntry.objects.create(
        action=action,
        actor=actor,
        actor_label=actor.email if actor else "system",
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_label=str(target)[:254] if target is not None else "",
        ip_address=ip,
        user_agent=user_agent or "",
        metadata=metadata or {},
    )
