"""Who dismissed the guided start's checklist in this workspace (no row: it is shown)."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models

from tenants.references import public_reference


class ChecklistDismissal(models.Model):
    user = public_reference(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    dismissed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints: ClassVar = [models.UniqueConstraint(fields=["user"], name="checklist_dismissed_once")]

    def __str__(self) -> str:
        return f"checklist dismissed by {self.user_id}"
