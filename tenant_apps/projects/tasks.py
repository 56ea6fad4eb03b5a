"""The product's background work (in the workspace's schema): thumbnails of uploaded images."""

from __future__ import annotations

from celery import shared_task

from shared_apps.core.tasks import TenantScopedTask
from tenant_apps.projects import services


@shared_task(base=TenantScopedTask, name="projects.document_thumbnail")
def document_thumbnail(*, document_id: int) -> str:
    """Make an uploaded image's thumbnail: its status goes from pending to ready (or failed)."""
    return services.document_thumbnail_make(document_id=document_id)
