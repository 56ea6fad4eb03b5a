"""The storage layer's scheduled work (beat, public schema): abandoned uploads, drift, unfinished purges."""

from __future__ import annotations

import logging

from celery import shared_task

from shared_apps.storage import accounting, purge

logger = logging.getLogger(__name__)


@shared_task(name="storage.reservations_expire")
def reservations_expire() -> int:
    """Uploads signed and never confirmed: reservation taken back, object deleted, pending document removed."""
    cleaned = 0
    for reservation_id in accounting.reservations_expired():
        try:
            if accounting.reservation_abandon(reservation_id):
                cleaned += 1
        except Exception:
            logger.exception("could not clean up an abandoned upload", extra={"reservation": reservation_id})
    return cleaned


@shared_task(name="storage.reconcile_all")
def reconcile_all() -> int:
    """Every workspace's prefix listed and its counts corrected; returns how many had drifted."""
    unfinished = set(purge.purges_unfinished())
    drifted = 0
    for prefix in accounting.prefixes_with_usage():
        if prefix in unfinished:
            continue
        try:
            drifted += accounting.reconcile(prefix).drifted
        except Exception:
            logger.exception("storage reconcile failed", extra={"tenant": prefix})
    return drifted


@shared_task(name="storage.purges_resume")
def purges_resume() -> int:
    """Finish purges a crash or a restart interrupted."""
    finished = 0
    for prefix in purge.purges_unfinished():
        try:
            finished += purge.purge_run(prefix) is not None
        except Exception:
            logger.exception("storage purge failed; retried later", extra={"tenant": prefix})
    return finished
