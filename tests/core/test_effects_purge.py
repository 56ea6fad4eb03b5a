"""Effect records (shared_apps.core.effects) are kept as long as a message could come back, then purged."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from shared_apps.core.effects import EFFECT_RETENTION, effect_done, effect_once, effects_purge
from shared_apps.core.models import TaskEffect
from shared_apps.core.tasks import effects_purge as effects_purge_task

pytestmark = pytest.mark.django_db


def recorded(key: str, age: timedelta) -> None:
    effect_once(key, lambda: None)
    TaskEffect.objects.filter(key=key).update(done_at=timezone.now() - age)


def test_records_older_than_the_retention_go_in_batches_and_the_recent_stay() -> None:
    for n in range(7):
        recorded(f"old:{n}", EFFECT_RETENTION + timedelta(hours=1))
    recorded("recent", EFFECT_RETENTION - timedelta(hours=1))
    recorded("just-now", timedelta(0))

    assert effects_purge(batch=3) == 7

    mine = [f"old:{n}" for n in range(7)] + ["recent", "just-now"]  # other tests' records may be committed beside
    assert sorted(TaskEffect.objects.filter(key__in=mine).values_list("key", flat=True)) == ["just-now", "recent"]
    assert not effect_done("old:0")
    assert effect_done("recent")


def test_the_daily_task_purges_and_is_on_the_beat() -> None:
    recorded("old", EFFECT_RETENTION * 2)

    assert effects_purge_task.delay().get() == 1
    assert not TaskEffect.objects.filter(key="old").exists()
    assert settings.CELERY_BEAT_SCHEDULE["core-effects-purge"] == {
        "task": "core.effects_purge",
        "schedule": 86400.0,
    }
