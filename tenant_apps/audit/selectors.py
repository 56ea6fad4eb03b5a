"""Reading the audit log. Runs in the tenant's schema: the schema is the boundary, no tenant filter needed."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django.db.models import QuerySet

from tenant_apps.audit.models import AuditEntry


def audit_entry_list(
    *, action: str = "", actor: str = "", date_from: date | None = None, date_to: date | None = None
) -> QuerySet[AuditEntry]:
    """Entries newest first. `action` is one action or a group (`member.*`); `actor` matches the actor's email or
    label; dates are whole UTC days, both ends included. No join: the actor's label is stored on the entry."""
    entries = AuditEntry.objects.all()
    if action.endswith(".*"):
        entries = entries.filter(action__startswith=action[:-1])
    elif action:
        entries = entries.filter(action=action)
    actor = actor.strip()
    if actor:
        entries = entries.filter(actor_label__icontains=actor)
    if date_from is not None:
        entries = entries.filter(created_at__gte=datetime.combine(date_from, time.min, tzinfo=UTC))
    if date_to is not None:
        entries = entries.filter(created_at__lt=datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=UTC))
    return entries.order_by("-created_at", "-id")
