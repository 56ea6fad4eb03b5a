"""Writing the audit log. Call inside the tenant's schema (request, task, or `tenant_context`)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db.models import Model
from django.http import HttpRequest

from shared_apps.accounts.models import User
from tenant_apps.audit.models import AuditEntry
from tenants.db import connection
from tenants.models import PUBLIC_SCHEMA


def client_ip(request: HttpRequest) -> str | None:
    """The client's address as allauth sees it (its rate limits and the sessions list): REMOTE_ADDR, or the
    trusted proxy header / X-Forwarded-For position when the deployment configures one."""
    from allauth.account.adapter import get_adapter

    try:
        return get_adapter(request).get_client_ip(request) or None
    except (ImproperlyConfigured, PermissionDenied):  # a proxy count that does not match must not cost the entry
        return request.META.get("REMOTE_ADDR") or None


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
        ip = client_ip(request)
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
