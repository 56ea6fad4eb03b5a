"""Uploads on both storage backends: through the app, and straight to storage with a signed form confirmed by the
app; thumbnails by a task; what is refused (and why), and hostile requests."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest

from billing import selectors as billing_selectors
from shared_apps.accounts.models import User
from shared_apps.storage.backends import files
from shared_apps.storage.models import StorageReservation
from tenant_apps.audit.models import AuditEntry
from tenant_apps.projects.models import Document, DocumentStatus, ThumbnailStatus
from tenants.models import Tenant
from tests import storage_fixtures as make
from tests.factories import MembershipFactory, ProjectFactory
from tests.projects.conftest import Site, signed_in
from tests.projects.documents_helpers import KEY_SHAPE, documents_url, form_upload, start, usage
from tests.storage_fixtures import moto_of, pdf, png, send_signed, stored_keys


def test_a_form_upload_is_stored_under_the_workspace_prefix_with_a_generated_key(
    backend: str,
    request: pytest.FixtureRequest,
    tenant: Tenant,
    in_tenant: Any,
    people: dict[str, User],
    private_site: Site,
) -> None:
    client = signed_in(tenant, people["editor"])
    data = pdf()

    response = form_upload(client, private_site.project, "../../Quarterly plan.pdf", data)

    assert response.status_code == 302, response.content[:500]
    with in_tenant(tenant):
        document = Document.objects.get()
        assert document.status == DocumentStatus.READY
        assert document.storage_prefix == tenant.schema_name
        assert re.fullmatch(KEY_SHAPE, document.key)
        assert document.key.startswith(tenant.schema_name + "/")
        assert "Quarterly" not in document.key
        assert document.key.endswith(".pdf")
        assert (document.name, document.file_type, document.size) == ("Quarterly plan.pdf", "pdf", len(data))
        assert AuditEntry.objects.filter(action="document.uploaded", target_id=str(document.pk)).exists()
    assert stored_keys(moto_of(request, backend)) == [document.key]
    assert usage(tenant) == (len(data), 0, 1)
    assert billing_selectors.storage_used_bytes(schema_name=tenant.schema_name) == len(data)


def test_an_image_gets_its_thumbnail_from_a_task_and_the_page_signs_stored_keys(
    backend: str,
    request: pytest.FixtureRequest,
    tenant: Tenant,
    in_tenant: Any,
    people: dict[str, User],
    private_site: Site,
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = signed_in(tenant, people["editor"])
    with django_capture_on_commit_callbacks(execute=False) as queued:
        assert form_upload(client, private_site.project, "photo.png", png(800, 600)).status_code == 302
    with in_tenant(tenant):
        document = Document.objects.get()
    assert document.thumbnail_status == ThumbnailStatus.PENDING
    assert "Preview pending" in client.get(documents_url(private_site.project)).content.decode()

    for callback in queued:  # the thumbnail task, run as the worker would after commit
        callback()

    with in_tenant(tenant):
        document.refresh_from_db()
    assert document.thumbnail_status == ThumbnailStatus.READY
    assert document.thumbnail_key == document.key.removesuffix(".png") + ".thumb.webp"
    assert stored_keys(moto_of(request, backend)) == sorted([document.key, document.thumbnail_key])
    assert usage(tenant) == (document.size + document.thumbnail_size, 0, 2)
    page = client.get(documents_url(private_site.project)).content.decode()
    thumbnail = re.search(r'<img class="thumb" src="([^"]+)"', page)
    assert thumbnail
    assert document.thumbnail_key in thumbnail.group(1).replace("&amp;", "&")
    fetched = client.get(thumbnail.group(1).replace("&amp;", "&")) if backend == "filesystem" else None
    if fetched is not None:
        assert fetched.status_code == 200
        assert fetched["Content-Type"] == "image/webp"


def test_a_direct_upload_is_reserved_sent_to_storage_and_confirmed(
    backend: str,
    request: pytest.FixtureRequest,
    tenant: Tenant,
    in_tenant: Any,
    people: dict[str, User],
    private_site: Site,
) -> None:
    client = signed_in(tenant, people["editor"])
    data = pdf() * 20

    started = start(client, private_site.project, "Brief.pdf", len(data), task=private_site.task.pk)

    assert started.status_code == 201
    assert usage(tenant) == (0, len(data), 0)
    with in_tenant(tenant):
        pending = Document.objects.get()
    assert pending.status == DocumentStatus.PENDING
    assert "Brief.pdf" not in client.get(documents_url(private_site.project)).content.decode()  # nobody sees it yet
    signed = started.json()
    assert signed["fields"]["key"] == pending.key
    assert send_signed(client, signed, "Brief.pdf", data) in (200, 201, 204)

    confirmed = client.post(signed["confirm"])

    assert confirmed.status_code == 200, confirmed.content
    assert confirmed.json()["location"].endswith(f"/tasks/{private_site.task.pk}/#attachments")
    with in_tenant(tenant):
        pending.refresh_from_db()
    assert (pending.status, pending.task_id, pending.file_type) == (DocumentStatus.READY, private_site.task.pk, "pdf")
    assert usage(tenant) == (len(data), 0, 1)
    assert not StorageReservation.objects.filter(key=pending.key).exists()
    task_page = client.get(f"/projects/{private_site.project.pk}/tasks/{private_site.task.pk}/").content.decode()
    assert "Brief.pdf" in task_page


@pytest.mark.parametrize("trick", ["larger", "wrong_type", "missing", "svg"])
def test_confirmation_deletes_and_refuses_what_should_not_be_kept(
    trick: str,
    backend: str,
    request: pytest.FixtureRequest,
    tenant: Tenant,
    in_tenant: Any,
    people: dict[str, User],
    private_site: Site,
) -> None:
    """Storage servers enforce the signed policy; a client that got past it anyway (moto does not enforce it) is
    caught here: whatever arrived is checked and deleted when it is not what was signed for."""
    client = signed_in(tenant, people["editor"])
    declared = pdf()
    started = start(client, private_site.project, "plan.pdf", len(declared))
    signed = started.json()
    key = signed["fields"]["key"]
    arrived = {
        "larger": declared + b"x" * 5000,
        "wrong_type": png()[: len(declared)].ljust(len(declared), b"\x00"),
        "missing": None,
        "svg": b"<svg onload='alert(1)'>".ljust(len(declared), b" "),
    }[trick]
    if arrived is not None:
        files().put(key, io.BytesIO(arrived), content_type="application/octet-stream")

    refused = client.post(signed["confirm"])

    assert refused.status_code == 400
    assert refused.json()["error"]
    assert stored_keys(moto_of(request, backend)) == []
    with in_tenant(tenant):
        assert not Document.objects.exists()
        assert AuditEntry.objects.filter(action="document.refused").exists()
    assert usage(tenant) == (0, 0, 0)


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("bomb.png", None, "pixels"),
        ("logo.svg", b"<svg><script>alert(1)</script></svg>", "SVG"),
        ("photo.png", pdf(), "named as a PNG image but its contents are a PDF document"),
        ("gifar.gif", None, "archive hidden"),
    ],
)
def test_a_refused_form_upload_stores_nothing_and_says_why(
    name: str,
    data: bytes | None,
    message: str,
    backend: str,
    request: pytest.FixtureRequest,
    tenant: Tenant,
    in_tenant: Any,
    people: dict[str, User],
    private_site: Site,
) -> None:

    payload = data if data is not None else (make.png_bomb() if name == "bomb.png" else make.gif() + make.zip_archive())
    client = signed_in(tenant, people["editor"])

    response = form_upload(client, private_site.project, name, payload)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert stored_keys(moto_of(request, backend)) == []
    with in_tenant(tenant):
        assert not Document.objects.exists()
    assert usage(tenant) == (0, 0, 0)


def test_the_same_file_name_in_two_workspaces_gives_two_objects(
    backend: str,
    request: pytest.FixtureRequest,
    tenant: Tenant,
    other_tenant: Tenant,
    in_tenant: Any,
    owner: User,
    outsider: User,
) -> None:
    with in_tenant(tenant):
        ours = ProjectFactory.create(name="Ours")
    with in_tenant(other_tenant):
        theirs = ProjectFactory.create(name="Theirs")

    assert form_upload(signed_in(tenant, owner), ours, "plan.pdf", pdf()).status_code == 302
    assert form_upload(signed_in(other_tenant, outsider), theirs, "plan.pdf", pdf()).status_code == 302

    keys = stored_keys(moto_of(request, backend))
    assert len(keys) == 2
    assert sorted(k.split("/")[0] for k in keys) == sorted([tenant.schema_name, other_tenant.schema_name])


@pytest.mark.parametrize(
    "data",
    [
        {"name": "a.pdf", "size": "-1"},
        {"name": "a.pdf", "size": str(10**20)},
        {"name": "a.pdf", "size": "abc"},
        {"name": "a.pdf\x00.exe", "size": "10"},
        {"name": "", "size": "10"},
        {"name": "x" * 5000, "size": "10"},
        {"name": "a.pdf", "size": "10", "task": "99999999999999999999999"},
        {"name": "page.html", "size": "10"},
    ],
)
def test_hostile_upload_requests_get_a_clear_refusal(
    data: dict[str, str], tenant: Tenant, people: dict[str, User], private_site: Site
) -> None:
    response = signed_in(tenant, people["editor"]).post(f"{documents_url(private_site.project)}uploads/", data)

    assert response.status_code in (400, 404), response.content
    if response.status_code == 400:
        assert response.json()["error"]
    assert StorageReservation.objects.count() == 0


def test_absurd_document_ids_are_not_found(tenant: Tenant, people: dict[str, User], private_site: Site) -> None:
    client = signed_in(tenant, people["editor"])
    for path in ("download/", "delete/", "confirm/"):
        assert client.get(f"{documents_url(private_site.project)}{2**70}/{path}").status_code in (404, 405)


def test_only_the_uploader_confirms_an_upload(
    tenant: Tenant, in_tenant: Any, people: dict[str, User], private_site: Site
) -> None:
    signed = start(signed_in(tenant, people["editor"]), private_site.project, "a.pdf", len(pdf())).json()
    files().put(signed["fields"]["key"], io.BytesIO(pdf()), content_type="application/pdf")

    assert signed_in(tenant, people["manager"]).post(signed["confirm"]).status_code == 403
    with in_tenant(tenant):
        assert Document.objects.get().status == DocumentStatus.PENDING


def test_a_new_member_role_makes_no_difference_to_the_prefix(tenant: Tenant, other_tenant: Tenant) -> None:
    MembershipFactory.create(tenant=tenant)
    assert tenant.schema_name != other_tenant.schema_name
