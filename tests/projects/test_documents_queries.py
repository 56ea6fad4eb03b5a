"""The documents page and a task's attachments cost the same queries at 1 and 60 documents."""

from __future__ import annotations

from typing import Any

from django.test.utils import CaptureQueriesContext

from shared_apps.accounts.models import User
from tenant_apps.projects.models import Document, Project, ThumbnailStatus
from tenants.db import connection
from tenants.models import Tenant
from tests.projects.conftest import Site, signed_in
from tests.projects.documents_helpers import documents_url


def _documents(project: Project, task: Any, user: User, count: int, prefix: str, first: int = 0) -> None:
    Document.objects.bulk_create(
        Document(
            project=project,
            task=task if i % 2 else None,
            storage_prefix=prefix,
            key=f"{prefix}/files/{i:032x}.png",
            thumbnail_key=f"{prefix}/files/{i:032x}.thumb.webp",
            thumbnail_status=ThumbnailStatus.READY,
            name=f"image {i}.png",
            file_type="png",
            content_type="image/png",
            size=1000 + i,
            width=640,
            height=480,
            uploaded_by=user,
        )
        for i in range(first, first + count)
    )


def test_the_documents_page_and_a_task_cost_the_same_queries_at_1_and_60_documents(
    backend: str, tenant: Tenant, in_tenant: Any, people: dict[str, User], private_site: Site
) -> None:

    client = signed_in(tenant, people["editor"])
    paths = [documents_url(private_site.project), f"/projects/{private_site.project.pk}/tasks/{private_site.task.pk}/"]

    def count(path: str) -> tuple[int, int]:
        client.get(path)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path)
        assert response.status_code == 200
        return len(queries), response.content.decode().count('<img class="thumb"')

    with in_tenant(tenant):
        _documents(private_site.project, private_site.task, people["editor"], 2, tenant.schema_name)
    small = {path: count(path) for path in paths}
    with in_tenant(tenant):
        _documents(private_site.project, private_site.task, people["editor"], 58, tenant.schema_name, first=2)
    large = {path: count(path) for path in paths}

    for path in paths:
        assert large[path][0] == small[path][0], (path, small[path], large[path])
    assert large[paths[0]][1] == 50  # one page of thumbnails, each a stored key signed for the page
    assert large[paths[1]][1] == 30  # the task's attachments
