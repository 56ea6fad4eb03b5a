"""Emptying a workspace's prefix after its schema is dropped: batched, resumable, with progress.

`purge_request` records the prefix in the transaction that drops the schema, so the intent survives a crash;
`purge_run` deletes what is under `<prefix>/` (never a byte outside it: listings end the prefix with `/`) a batch of
up to 1,000 objects at a time, counting as it goes under a renewable lease (two runners never work on one prefix),
then forgets the workspace's usage and reservations and marks the purge finished. Run again after an interruption,
it lists what is left and carries on; a beat task does that for purges left unfinished.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from itertools import islice

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from shared_apps.storage.backends import DELETE_BATCH, TenantFileSystemStorage, TenantStorage, files
from shared_apps.storage.keys import prefix_check
from shared_apps.storage.models import StoragePurge, StorageReservation, StorageUsage

logger = logging.getLogger(__name__)
LEASE_SECONDS = 300


@dataclass(frozen=True)
class PurgeProgress:
    prefix: str
    objects: int
    bytes: int
    expected_bytes: int  # what the accounting said was stored (a guide for progress bars)


Progress = Callable[[PurgeProgress], None]


def purge_request(prefix: str) -> None:
    """Record that `prefix` must be emptied (inside the caller's transaction)."""
    StoragePurge.objects.get_or_create(prefix=prefix_check(prefix))


def _claim(prefix: str) -> bool:
    now = timezone.now()
    StoragePurge.objects.get_or_create(prefix=prefix)
    return bool(
        StoragePurge.objects.filter(prefix=prefix, finished_at__isnull=True)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=now + timedelta(seconds=LEASE_SECONDS))
    )


def purge_run(
    prefix: str, *, progress: Progress | None = None, storage: TenantStorage | None = None, batch: int = DELETE_BATCH
) -> PurgeProgress | None:
    """Delete every object under `prefix/`. Returns the totals, or None when another runner holds the purge (or it
    is finished)."""
    prefix_check(prefix)
    storage = storage or files()
    if not _claim(prefix):
        return None
    usage = StorageUsage.objects.filter(prefix=prefix).first()
    expected = usage.used_bytes if usage else 0
    done = StoragePurge.objects.get(prefix=prefix)
    objects, size = done.deleted_objects, done.deleted_bytes
    while True:
        chunk = list(islice(storage.iter_prefix(prefix), batch))
        if not chunk:
            break
        storage.delete_many(o.key for o in chunk)
        objects += len(chunk)
        size += sum(o.size for o in chunk)
        StoragePurge.objects.filter(prefix=prefix).update(
            deleted_objects=F("deleted_objects") + len(chunk),
            deleted_bytes=F("deleted_bytes") + sum(o.size for o in chunk),
            lease_until=timezone.now() + timedelta(seconds=LEASE_SECONDS),
        )
        if progress is not None:
            progress(PurgeProgress(prefix=prefix, objects=objects, bytes=size, expected_bytes=max(expected, size)))
    if isinstance(storage, TenantFileSystemStorage):
        storage.prune_empty(prefix)
    with transaction.atomic():
        StorageUsage.objects.filter(prefix=prefix).delete()
        StorageReservation.objects.filter(prefix=prefix).delete()
        StoragePurge.objects.filter(prefix=prefix).update(finished_at=timezone.now(), lease_until=None)
    result = PurgeProgress(prefix=prefix, objects=objects, bytes=size, expected_bytes=max(expected, size))
    if progress is not None:
        progress(result)
    logger.info("storage prefix purged", extra={"tenant": prefix, "objects": objects, "bytes": size})
    return result


def purges_unfinished() -> list[str]:
    now = timezone.now()
    return list(
        StoragePurge.objects.filter(finished_at__isnull=True)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .values_list("prefix", flat=True)
    )
