"""What each workspace stores, kept exact (public schema: read by billing, written by the product's services).

`StorageUsage` is one row per workspace prefix: bytes committed (confirmed objects and their thumbnails), bytes
reserved (uploads signed and not yet confirmed) and the number of objects. `StorageReservation` is one row per signed
upload, until it is confirmed, released or expires (then the object, if any, is deleted). `StoragePurge` records a
workspace's prefix to empty after its schema was dropped, so an interrupted purge resumes.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models


class StorageUsage(models.Model):
    prefix = models.CharField(max_length=63, unique=True, help_text="The workspace's schema name.")
    committed_bytes = models.BigIntegerField(default=0)
    reserved_bytes = models.BigIntegerField(default=0)
    object_count = models.BigIntegerField(default=0)
    reconciled_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(committed_bytes__gte=0, reserved_bytes__gte=0, object_count__gte=0),
                name="storage_usage_not_negative",
            )
        ]

    def __str__(self) -> str:
        return f"{self.prefix}: {self.committed_bytes} + {self.reserved_bytes} reserved"

    @property
    def used_bytes(self) -> int:
        return self.committed_bytes + self.reserved_bytes


class StorageReservation(models.Model):
    prefix = models.CharField(max_length=63)
    key = models.CharField(max_length=255, unique=True)
    bytes = models.BigIntegerField()
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes: ClassVar = [models.Index(fields=["expires_at"], name="storage_reservation_expiry")]

    def __str__(self) -> str:
        return f"{self.key} ({self.bytes} bytes until {self.expires_at:%Y-%m-%d %H:%M})"


class StoragePurge(models.Model):
    prefix = models.CharField(max_length=63, unique=True)
    requested_at = models.DateTimeField(auto_now_add=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    deleted_objects = models.BigIntegerField(default=0)
    deleted_bytes = models.BigIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"purge {self.prefix}"
