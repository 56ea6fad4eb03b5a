"""Identity's background work: the daily re-check of every verified (or waiting) domain's TXT record."""

from __future__ import annotations

from celery import shared_task

from shared_apps.identity.services.domains import domains_check_all


@shared_task(name="identity.domains_check")
def domains_check() -> int:
    """Ask the DNS again for every domain's record (beat, daily): a record gone unverifies its domain (audited)."""
    return domains_check_all()
