"""Effects that happen once, whatever runs twice.

Tasks are acknowledged when they end (a worker killed mid-task leaves its message to run again), retried on failure,
and may be enqueued twice; their database writes are idempotent by construction (ensure-style services, row locks,
unique rows), but an email cannot be taken back. `effect_once(key, send)` sends unless an effect with that key is
recorded, then records it. The one window left is between the send and the record (a crash there sends again: at
least once, never "maybe not at all"). Records older than EFFECT_RETENTION are purged daily (`core.effects_purge`):
by then no message can come back.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from shared_apps.core.models import TaskEffect


def effect_done(key: str) -> bool:
    return TaskEffect.objects.filter(key=key).exists()


def effect_once(key: str, effect: Callable[[], object]) -> bool:
    """Run `effect()` unless `key` is recorded as done; record it after. Returns whether it ran."""
    if effect_done(key):
        return False
    effect()
    try:
        with transaction.atomic():
            TaskEffect.objects.create(key=key[:255])
    except IntegrityError:
        pass  # a concurrent run recorded it first
    return True


# How long an effect stays recorded: far longer than a message can come back (CELERY_VISIBILITY_TIMEOUT, an hour, and
# the retries' backoff).
EFFECT_RETENTION = timedelta(days=30)


def effects_purge(*, older_than: timedelta = EFFECT_RETENTION, batch: int = 5000) -> int:
    """Delete the effect records older than `older_than`, `batch` at a time (short transactions); how many."""
    cutoff = timezone.now() - older_than
    purged = 0
    while ids := list(TaskEffect.objects.filter(done_at__lt=cutoff).values_list("pk", flat=True)[:batch]):
        purged += TaskEffect.objects.filter(pk__in=ids).delete()[0]
    return purged
