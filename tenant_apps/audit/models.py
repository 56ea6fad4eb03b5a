"""The tenant's audit log (tenant schema). Entries are append-only: no update or delete path exists in code.

Every write path of the ORM refuses (`shared_apps.core.append_only`, shared with the operators' log); the one
change allowed is SET NULL on `actor` when an account is deleted, and `actor_label` keeps who it was. A trigger would
also guard raw SQL, but the fast provisioning path copies tenant schemas from the catalogs and refuses templates
that hold triggers, so the guarantee stays at the ORM level, proven by tests/audit.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models

from shared_apps.core.append_only import AppendOnlyModel, AppendOnlyQuerySet
from tenants.references import person_reference


class AuditEntryQuerySet(AppendOnlyQuerySet["AuditEntry"]):
    pass


class AuditEntryManager(models.Manager.from_queryset(AuditEntryQuerySet)):  # type: ignore[misc]
    pass


class AuditEntry(AppendOnlyModel):
    action = models.CharField(max_length=64, db_index=True)
    actor = person_reference()  # the log is filtered by actor_label, never by id
    actor_label = models.CharField(max_length=254, blank=True, help_text="Who acted, kept if the account goes.")
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=254, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = AuditEntryManager()
    append_only_message = "Audit entries are append-only."
    nullable_links = frozenset({"actor"})

    class Meta:
        ordering: ClassVar = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"
        base_manager_name = "objects"

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} by {self.actor_label or 'system'}"


class Event(models.Model):
    """One change others may care about, in the workspace's event stream (its outbox): written in the same
    transaction as the change, so a rolled-back change leaves none and a committed one is never lost.

    `event_id` is stable (the `webhook-id` of every delivery of it); `data` is the object as the API shows it;
    `project_id` says who may see it (None: every member). `txid` is the writing transaction's id, which lets the
    dispatcher hand consumers only events whose transaction has ended (see `tenant_apps.audit.dispatch`).
    """

    event_id = models.CharField(max_length=40, unique=True)
    type = models.CharField(max_length=64, db_index=True)
    occurred_at = models.DateTimeField()
    actor = person_reference()
    actor_label = models.CharField(max_length=254, blank=True)
    data = models.JSONField(default=dict)
    project_id = models.BigIntegerField(null=True, blank=True)
    txid = models.BigIntegerField(db_index=True)

    class Meta:
        ordering: ClassVar = ["txid", "id"]

    def __str__(self) -> str:
        return f"{self.event_id} {self.type}"

    def payload(self) -> dict[str, object]:
        """The event as consumers send it on: `{type, timestamp, data}`."""
        return {"type": self.type, "timestamp": _moment(self.occurred_at), "data": self.data}


class EventCursor(models.Model):
    """How far one consumer of the event stream has read: every event of a transaction below `position` (a
    transaction id) has been handed to it, and so have the events listed in `handed` (ids, all at or above it)."""

    consumer = models.CharField(max_length=64, unique=True)
    position = models.BigIntegerField(default=0)
    handed = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.consumer} at {self.position}"


def _moment(value: object) -> str:
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return text[:-6] + "Z" if text.endswith("+00:00") else text
