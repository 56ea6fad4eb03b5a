"""Platform tasks of the tenancy core (public schema): the warm pool refill. Beat runs it on the schedule in
CELERY_BEAT_SCHEDULE, and it is queued after every signup."""

from __future__ import annotations

from celery import shared_task

from tenants import services


@shared_task(name="tenants.pool_refill")
def pool_refill() -> dict[str, int | bool]:
    result = services.pool_fill()
    return {"created": result.created, "failed": result.failed, "spares": result.spares, "skipped": result.skipped}
