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
