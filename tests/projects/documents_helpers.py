"""What the documents tests share: the pages' URLs, uploads through the form and straight to storage, a workspace's
storage usage."""

from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from shared_apps.storage.models import StorageUsage
from tenant_apps.projects.models import Project
from tenants.models import Tenant
from tests.conftest import HostClient
from tests.storage_fixtures import send_signed

KEY_SHAPE = r"t_[a-z0-9]+/files/[0-9a-f]{32}\.[a-z]+"


def documents_url(project: Project) -> str:
    return f"/projects/{project.pk}/documents/"


def form_upload(client: HostClient, project: Project, name: str, data: bytes, *, task: int | None = None) -> Any:
    payload: dict[str, Any] = {"file": SimpleUploadedFile(name, data)}
    if task:
        payload["task"] = str(task)
    return client.post(f"{documents_url(project)}upload/", payload)


def start(client: HostClient, project: Project, name: str, size: int, *, task: int | None = None) -> Any:
    data: dict[str, Any] = {"name": name, "size": str(size)}
    if task:
        data["task"] = str(task)
    return client.post(f"{documents_url(project)}uploads/", data)


def direct_upload(client: HostClient, project: Project, name: str, data: bytes, **kwargs: Any) -> Any:
    started = start(client, project, name, len(data), **kwargs)
    assert started.status_code == 201, started.content
    signed = started.json()
    assert send_signed(client, signed, name, data) in (200, 201, 204)
    return client.post(signed["confirm"])


def usage(tenant: Tenant) -> tuple[int, int, int]:
    row = StorageUsage.objects.filter(prefix=tenant.schema_name).first()
    return (row.committed_bytes, row.reserved_bytes, row.object_count) if row else (0, 0, 0)
