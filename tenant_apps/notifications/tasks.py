"""Notifications' background work: the beat's hourly sweep, which hands each workspace that may have something to
send today its own daily run (`daily.daily_run`, in that workspace's schema)."""

from __future__ import annotations

import datetime as dt

from celery import shared_task

from shared_apps.core.tasks import TenantScopedTask


@shared_task(base=TenantScopedTask, name="notifications.daily_run")
def daily_run(*, at: str | None = None) -> int:
    """One workspace's daily run: reminders and digests for the people whose 08:00 has come (idempotent). `at`: the
    sweep's moment (ISO 8601), so a run that waited in the queue still counts from when it was due."""
    from tenant_apps.notifications.daily import daily_run as run  # noqa: PLC0415  (daily imports the services)

    return run(now=dt.datetime.fromisoformat(at) if at else None)


@shared_task(name="notifications.daily_sweep")
def daily_sweep() -> int:
    """Every hour (beat): enqueue the daily run of each workspace with open tasks due soon or someone on a digest."""
    from tenant_apps.notifications.daily import daily_sweep as sweep  # noqa: PLC0415  (as above)

    return sweep()
