"""Platform tasks on tenants (public schema): pool refill, scheduled purges, expired rename redirects. Beat runs
them on the schedule in CELERY_BEAT_SCHEDULE; the pool refill is also queued after every signup."""

from __future__ import annotations

from config.celery import app
from tenants import services


@app.task(name="tenants.pool_refill")
def pool_refill() -> dict[str, int | bool]:
    result = services.pool_fill()
    return {"created": result.created, "failed": result.failed, "spares": result.spares, "skipped": result.skipped}


@app.task(name="tenants.purge_due")
def purge_due() -> list[str]:
    return services.tenants_purge_due()


@app.task(name="tenants.expire_redirect_domains")
def expire_redirect_domains() -> int:
    return services.domains_expire_redirects()
