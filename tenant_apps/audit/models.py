"""The tenant's audit log (tenant schema). Entries are append-only: no update or delete path exists in code.

Every write path of the ORM refuses: `save()` of a stored entry, `delete()`, and on querysets `update()`,
`delete()`, `bulk_update()` and the private `_update()` / `_raw_delete()` that other paths funnel into. The default
and base managers are the refusing one, so related-object and cascade machinery that goes through them refuses too.
(The one change allowed is SET NULL on `actor` when an account is deleted; `actor_label` keeps who it was.) A
trigger would also guard raw SQL, but the fast provisioning path copies tenant schemas from the catalogs
and refuses templates that hold triggers, so the guarantee stays at the ORM level, proven by tests/audit.
"""

from __future__ import annotations

from typing import Any, ClassVar, NoReturn

from django.conf import settings
from django.db import models


class AppendOnly(RuntimeError):
    def __init__(self) -> None:
        super().__init__("Audit entries are append-only.")


class AuditEntryQuerySet(models.QuerySet["AuditEntry"]):
    def update(self, **kwargs: Any) -> int:
        # The one change allowed: an account deleted, its entries lose the link and keep `actor_label` (Django runs
        # the SET NULL through here).
        if kwargs == {"actor": None}:
            return super().update(**kwargs)
        raise AppendOnly

    def _update(self, values: Any) -> NoReturn:
        raise AppendOnly

    def bulk_update(self, objs: Any, fields: Any, batch_size: int | None = None) -> NoReturn:
        raise AppendOnly

    def delete(self) -> NoReturn:
        raise AppendOnly

    def _raw_delete(self, using: Any) -> NoReturn:
        raise AppendOnly


class AuditEntryManager(models.Manager.from_queryset(AuditEntryQuerySet)):  # type: ignore[misc]
    pass


class AuditEntry(models.Model):
    action = models.CharField(max_length=64, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=254, blank=True, help_text="Who acted, kept if the account goes.")
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=254, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = AuditEntryManager()

    class Meta:
        ordering: ClassVar = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"
        base_manager_name = "objects"

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} by {self.actor_label or 'system'}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AppendOnly
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnly
