"""Bytes per workspace, kept exact: reserved when an upload is signed, committed when it is confirmed (or stored by
the app), released when it is refused or abandoned, removed when a file is deleted; `reconcile` lists the prefix and
corrects any drift (logged).

Every change locks the workspace's `StorageUsage` row (`usage_lock`), so the quota check and the reservation it
allows happen as one step: two uploads at once cannot both take the last free bytes. Callers run these inside their
own transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Sum
from django.db.models.functions import Greatest
from django.utils import timezone

from shared_apps.storage.backends import TenantStorage, files
from shared_apps.storage.hooks import upload_abandoned
from shared_apps.storage.keys import key_check, prefix_check
from shared_apps.storage.models import StorageReservation, StorageUsage

logger = logging.getLogger(__name__)


def usage_lock(prefix: str) -> StorageUsage:
    """The workspace's usage row, locked until the end of the caller's transaction (created when missing)."""
    prefix_check(prefix)
    StorageUsage.objects.bulk_create([StorageUsage(prefix=prefix)], ignore_conflicts=True)
    return StorageUsage.objects.select_for_update().get(prefix=prefix)


def usage_of(prefix: str) -> StorageUsage | None:
    return StorageUsage.objects.filter(prefix=prefix).first()


def used_bytes(prefix: str) -> int:
    """Committed + reserved bytes of a workspace: what the quota counts. One query."""
    row = StorageUsage.objects.filter(prefix=prefix).values_list("committed_bytes", "reserved_bytes").first()
    return int(row[0] + row[1]) if row else 0


def stored_bytes(prefixes: Sequence[str]) -> dict[str, int]:
    """Bytes of confirmed files under each prefix (0 for one with none), in one query: the operators' metrics."""
    found = dict(StorageUsage.objects.filter(prefix__in=prefixes).values_list("prefix", "committed_bytes"))
    return {prefix: int(found.get(prefix, 0)) for prefix in prefixes}


def reserve(usage: StorageUsage, *, key: str, nbytes: int, ttl: int | None = None) -> StorageReservation:
    """Hold `nbytes` for an upload to `key` (the caller holds `usage` locked and checked the quota)."""
    key_check(key, prefix=usage.prefix)
    expires_at = timezone.now() + timedelta(seconds=ttl or settings.STORAGE_RESERVATION_TTL)
    reservation = StorageReservation.objects.create(prefix=usage.prefix, key=key, bytes=nbytes, expires_at=expires_at)
    StorageUsage.objects.filter(pk=usage.pk).update(reserved_bytes=F("reserved_bytes") + nbytes)
    usage.reserved_bytes += nbytes
    return reservation


class ReservationGone(Exception):
    """The upload's reservation expired (and its object was or will be deleted) before it was confirmed."""


def commit(prefix: str, *, key: str, nbytes: int) -> None:
    """The upload to `key` is confirmed at `nbytes` (its real size): its reservation becomes committed bytes."""
    usage = usage_lock(prefix)
    reservation = StorageReservation.objects.select_for_update().filter(key=key_check(key, prefix=prefix)).first()
    if reservation is None:
        raise ReservationGone(key)
    reservation.delete()
    StorageUsage.objects.filter(pk=usage.pk).update(
        reserved_bytes=Greatest(F("reserved_bytes") - reservation.bytes, 0),
        committed_bytes=F("committed_bytes") + nbytes,
        object_count=F("object_count") + 1,
    )


def release(prefix: str, *, key: str) -> int:
    """Give back what an upload to `key` reserved (refused, cancelled). Returns the bytes released."""
    usage = usage_lock(prefix)
    reservation = StorageReservation.objects.select_for_update().filter(key=key_check(key, prefix=prefix)).first()
    if reservation is None:
        return 0
    reservation.delete()
    StorageUsage.objects.filter(pk=usage.pk).update(reserved_bytes=Greatest(F("reserved_bytes") - reservation.bytes, 0))
    return reservation.bytes


def add_stored(prefix: str, *, nbytes: int, objects: int = 1) -> None:
    """Bytes the app stored itself without a reservation (thumbnails)."""
    usage = usage_lock(prefix)
    StorageUsage.objects.filter(pk=usage.pk).update(
        committed_bytes=F("committed_bytes") + nbytes, object_count=F("object_count") + objects
    )


def remove_stored(prefix: str, *, nbytes: int, objects: int) -> None:
    """Files were deleted: their bytes stop counting (never below zero; reconcile corrects any drift)."""
    usage = usage_lock(prefix)
    StorageUsage.objects.filter(pk=usage.pk).update(
        committed_bytes=Greatest(F("committed_bytes") - nbytes, 0),
        object_count=Greatest(F("object_count") - objects, 0),
    )


# ---------------------------------------------------------------------------------------------------------------------
# Abandoned uploads and drift
# ---------------------------------------------------------------------------------------------------------------------


def reservations_expired(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    now = now or timezone.now()
    return list(
        StorageReservation.objects.filter(expires_at__lte=now)
        .order_by("expires_at")
        .values_list("pk", flat=True)[:limit]
    )


def reservation_abandon(reservation_id: int, *, storage: TenantStorage | None = None) -> str | None:
    """An upload nobody confirmed in time: its reservation is taken back first (so a confirmation racing with this
    one finds it gone and refuses), then its object is deleted, then higher layers hear of it. Returns the key."""
    with transaction.atomic():
        reservation = StorageReservation.objects.select_for_update(skip_locked=True).filter(pk=reservation_id).first()
        if reservation is None:
            return None
        prefix, key = reservation.prefix, reservation.key
        usage = usage_lock(prefix)
        reservation.delete()
        StorageUsage.objects.filter(pk=usage.pk).update(
            reserved_bytes=Greatest(F("reserved_bytes") - reservation.bytes, 0)
        )
    (storage or files()).delete_many([key])
    upload_abandoned.send(sender=StorageReservation, prefix=prefix, key=key)
    logger.info("abandoned upload cleaned up", extra={"tenant": prefix, "key": key})
    return key


@dataclass(frozen=True)
class Drift:
    prefix: str
    committed_before: int
    committed_after: int
    objects_before: int
    objects_after: int
    reserved_before: int
    reserved_after: int

    @property
    def drifted(self) -> bool:
        return (self.committed_before, self.objects_before, self.reserved_before) != (
            self.committed_after,
            self.objects_after,
            self.reserved_after,
        )


def reconcile(prefix: str, *, storage: TenantStorage | None = None) -> Drift:
    """List the prefix and set the counts to what is really stored (objects of uploads still reserved count as
    reserved, not committed). A drift is logged as a warning with the numbers."""
    listed = list((storage or files()).iter_prefix(prefix))
    with transaction.atomic():
        usage = usage_lock(prefix)
        reservations = dict(StorageReservation.objects.filter(prefix=prefix).values_list("key", "bytes"))
        stored = [o for o in listed if o.key not in reservations]
        committed, count = sum(o.size for o in stored), len(stored)
        reserved = int(StorageReservation.objects.filter(prefix=prefix).aggregate(n=Sum("bytes"))["n"] or 0)
        drift = Drift(
            prefix=prefix,
            committed_before=usage.committed_bytes,
            committed_after=committed,
            objects_before=usage.object_count,
            objects_after=count,
            reserved_before=usage.reserved_bytes,
            reserved_after=reserved,
        )
        StorageUsage.objects.filter(pk=usage.pk).update(
            committed_bytes=committed, object_count=count, reserved_bytes=reserved, reconciled_at=timezone.now()
        )
    if drift.drifted:
        logger.warning(
            "storage drift corrected",
            extra={
                "tenant": prefix,
                "committed_before": drift.committed_before,
                "committed_after": drift.committed_after,
                "objects_before": drift.objects_before,
                "objects_after": drift.objects_after,
                "reserved_before": drift.reserved_before,
                "reserved_after": drift.reserved_after,
            },
        )
    return drift


def prefixes_with_usage() -> list[str]:
    return list(StorageUsage.objects.order_by("prefix").values_list("prefix", flat=True))
