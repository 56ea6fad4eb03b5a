"""Who reaches a document: downloads only after the project's permission check, isolation between workspaces (by id,
key, URL or a row's lying prefix), and who may upload or delete."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
import urllib3
from django.db import transaction

from shared_apps.accounts.models import User
from shared_apps.storage import accounting
from shared_apps.storage.backends import files
from shared_apps.storage.models import StorageReservation
from tenant_apps.audit.models import AuditEntry
from tenant_apps.projects import services
from tenant_apps.projects.models import Document, DocumentStatus, Project, ThumbnailStatus
from tenants.models import Tenant
from tests.conftest import HostClient, client_for
from tests.factories import ProjectFactory
from tests.projects.conftest import Site, signed_in
from tests.projects.documents_helpers import documents_url, form_upload, start, usage
from tests.storage_fixtures import Moto, moto_of, pdf, png, stored_keys


def _upload(client: HostClient, project: Project, name: str, data: bytes, tenant: Tenant, in_tenant: Any) -> Document:
    assert form_upload(client, project, name, data).status_code == 302
    with in_tenant(tenant):
        return Document.objects.filter(name=name).latest("pk")


def test_a_download_checks_the_permission_then_redirects_to_a_short_signed_url(
    backend: str, tenant: Tenant, in_tenant: Any, people: dict[str, User], private_site: Site
) -> None:
    editor = signed_in(tenant, people["editor"])
    document = _upload(editor, private_site.project, "Plan.pdf", pdf(), tenant, in_tenant)
    url = f"{documents_url(private_site.project)}{document.pk}/download/"

    viewer = signed_in(tenant, people["viewer"]).get(url)
    attachment = signed_in(tenant, people["viewer"]).get(url + "?download=1")

    assert viewer.status_code == 302
    assert viewer["Cache-Control"] == "no-store"
    location = viewer["Location"]
    assert document.key in location.replace("%2F", "/")
    assert "inline" in location
    assert "attachment" in attachment["Location"]
    if backend == "s3":
        assert "X-Amz-Expires=60" in location
        assert "X-Amz-Signature=" in location
    else:
        served = signed_in(tenant, people["viewer"]).get(location)
        assert served.status_code == 200
        assert served["Content-Disposition"] == 'inline; filename="Plan.pdf"'
    for who in ("stranger",):  # a private project's documents do not exist for people it is not shared with
        assert signed_in(tenant, people[who]).get(url).status_code == 404
    anonymous = client_for(tenant).get(url)
    assert anonymous.status_code == 302
    assert "/login/" in anonymous["Location"]


def test_text_and_office_files_always_download_as_attachments(
    backend: str, tenant: Tenant, in_tenant: Any, people: dict[str, User], private_site: Site
) -> None:
    editor = signed_in(tenant, people["editor"])
    document = _upload(editor, private_site.project, "notes.txt", b"hello there", tenant, in_tenant)

    location = editor.get(f"{documents_url(private_site.project)}{document.pk}/download/")["Location"]

    assert "attachment" in location
    assert "inline" not in location


def test_another_workspace_cannot_reach_a_document_by_id_key_or_url(
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
    acme = signed_in(tenant, owner)
    globex = signed_in(other_tenant, outsider)
    secret = _upload(acme, ours, "secret.pdf", pdf(), tenant, in_tenant)
    decoy = _upload(globex, theirs, "decoy.pdf", pdf(), other_tenant, in_tenant)

    # by id: the same ids on globex's host are globex's rows, never acme's
    for project_id, document_id in ((ours.pk, secret.pk), (theirs.pk, secret.pk), (ours.pk, decoy.pk)):
        response = globex.get(f"/projects/{project_id}/documents/{document_id}/download/")
        assert response.status_code in (302, 404)
        if response.status_code == 302:
            assert secret.key not in response["Location"].replace("%2F", "/")
    # on acme's host, someone who is not a member is stopped by the membership gate
    outsider_on_acme = client_for(tenant)
    outsider_on_acme.force_login(outsider)
    assert outsider_on_acme.get(f"/projects/{ours.pk}/documents/{secret.pk}/download/").status_code == 403

    # by key: no unsigned way in, on either backend
    if backend == "s3":
        moto: Moto = request.getfixturevalue("moto_server")
        assert urllib3.request("GET", f"{moto.endpoint}/atrium-test-media/{secret.key}").status == 403
    else:
        assert globex.get(f"/files/{secret.key}").status_code == 403
        assert acme.get(f"/files/{secret.key}").status_code == 403  # no signature: refused on its own host too

    # by URL: acme's signed URL names acme's key; on globex's host it is not found, and it signs nothing else
    signed = acme.get(f"/projects/{ours.pk}/documents/{secret.pk}/download/")["Location"]
    if backend == "filesystem":
        assert globex.get(signed).status_code == 404
        assert globex.get(signed.replace(secret.key, decoy.key)).status_code in (403, 404)
    else:
        other = files().sign_download(decoy.key, filename="secret.pdf", content_type="application/pdf", inline=True)
        ours_signature = re.search(r"X-Amz-Signature=(\w+)", signed)
        other_signature = re.search(r"X-Amz-Signature=(\w+)", other)
        assert ours_signature is not None
        assert other_signature is not None
        assert ours_signature.group(1) != other_signature.group(1)


def test_a_row_naming_another_workspaces_prefix_is_not_served(
    backend: str, tenant: Tenant, other_tenant: Tenant, in_tenant: Any, owner: User
) -> None:
    """Keys come from the row as saved; a row that names another prefix (a restored dump, a bug) is refused."""
    with in_tenant(tenant):
        project = ProjectFactory.create(name="Ours")
    client = signed_in(tenant, owner)
    document = _upload(client, project, "plan.pdf", pdf(), tenant, in_tenant)
    foreign = f"{other_tenant.schema_name}/files/{'a' * 32}.pdf"
    with in_tenant(tenant):
        Document.objects.filter(pk=document.pk).update(storage_prefix=other_tenant.schema_name, key=foreign)

    assert client.get(f"/projects/{project.pk}/documents/{document.pk}/download/").status_code == 404


def test_a_row_whose_key_lies_under_another_workspaces_prefix_is_never_used(
    backend: str,
    request: pytest.FixtureRequest,
    tenant: Tenant,
    other_tenant: Tenant,
    in_tenant: Any,
    owner: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Behind the import's own check: a row of acme whose key or thumbnail key names globex's files (whatever its
    `storage_prefix` says) is not signed, served, read for a thumbnail, deleted or accounted; the row itself can go."""
    # given globex's files and their accounting, and acme rows that name them
    storage = files()
    theirs = {name: f"{other_tenant.schema_name}/files/{name * 32}.png" for name in ("d", "e", "f")} | {
        "thumb": f"{other_tenant.schema_name}/files/{'d' * 32}.thumb.webp"
    }
    for key in theirs.values():
        storage.put(key, io.BytesIO(png()), content_type="image/png")
    with transaction.atomic():
        accounting.add_stored(other_tenant.schema_name, nbytes=4000, objects=4)
        accounting.add_stored(tenant.schema_name, nbytes=9000, objects=3)
    before = {tenant.schema_name: usage(tenant), other_tenant.schema_name: usage(other_tenant)}
    stored_before = stored_keys(moto_of(request, backend))
    common = {"file_type": "png", "content_type": "image/png", "size": 1000, "uploaded_by": owner}
    with in_tenant(tenant):
        project = ProjectFactory.create(name="Ours")
        planted = Document.objects.create(
            project=project,
            storage_prefix=tenant.schema_name,  # its own prefix: the row's word is no proof
            key=theirs["d"],
            thumbnail_key=theirs["thumb"],
            thumbnail_size=1000,
            thumbnail_status=ThumbnailStatus.READY,
            name="planted.png",
            **common,
        )
        prefixed = Document.objects.create(
            project=project, storage_prefix=other_tenant.schema_name, key=theirs["e"], name="prefixed.png", **common
        )
        pending = Document.objects.create(
            project=project,
            storage_prefix=tenant.schema_name,
            key=theirs["f"],
            name="pending.png",
            status=DocumentStatus.PENDING,
            **common,
        )
    client = signed_in(tenant, owner)
    base = documents_url(project)

    # signing and download: not found, on the pages and in the API
    for document in (planted, prefixed):
        assert client.get(f"{base}{document.pk}/download/").status_code == 404
    page = client.get(base).content.decode()
    assert "planted.png" in page
    assert other_tenant.schema_name not in page  # no thumbnail signed for globex's key
    # thumbnails: the task reads nothing of globex and writes nothing next to it
    with in_tenant(tenant):
        Document.objects.filter(pk=planted.pk).update(thumbnail_status=ThumbnailStatus.PENDING, thumbnail_key="")
        assert services.document_thumbnail_make(document_id=planted.pk) == "failed"
    # a pending upload's confirmation and cancellation leave globex's object alone
    assert client.post(f"{base}{pending.pk}/confirm/").status_code == 404
    assert client.post(f"{base}{pending.pk}/cancel/").status_code in (204, 404)
    # delete: the rows go, globex's files and both workspaces' accounting stay
    with django_capture_on_commit_callbacks(execute=True):
        for document in (planted, prefixed):
            assert client.post(f"{base}{document.pk}/delete/", {"confirm_name": document.name}).status_code == 302
        with in_tenant(tenant):
            services.project_delete(project=project, confirm_name="Ours", acting_user=owner)

    with in_tenant(tenant):
        assert not Document.objects.exists()
    assert stored_keys(moto_of(request, backend)) == stored_before
    for key in theirs.values():
        assert storage.head(key) == len(png())
    assert {tenant.schema_name: usage(tenant), other_tenant.schema_name: usage(other_tenant)} == before


# --- who may change documents --------------------------------------------------------------------------------------


def test_viewers_cannot_upload_or_delete_and_nothing_is_stored(
    backend: str,
    request: pytest.FixtureRequest,
    tenant: Tenant,
    in_tenant: Any,
    people: dict[str, User],
    private_site: Site,
) -> None:
    document = _upload(signed_in(tenant, people["editor"]), private_site.project, "a.pdf", pdf(), tenant, in_tenant)
    viewer = signed_in(tenant, people["viewer"])
    before = stored_keys(moto_of(request, backend))

    assert form_upload(viewer, private_site.project, "b.pdf", pdf()).status_code == 403
    assert start(viewer, private_site.project, "b.pdf", 100).status_code == 403
    assert (
        viewer.post(
            f"{documents_url(private_site.project)}{document.pk}/delete/", {"confirm_name": "a.pdf"}
        ).status_code
        == 403
    )
    stranger = signed_in(tenant, people["stranger"])
    assert form_upload(stranger, private_site.project, "b.pdf", pdf()).status_code == 404
    page = viewer.get(documents_url(private_site.project)).content.decode()
    assert "a.pdf" in page
    assert "Upload a file" not in page

    assert stored_keys(moto_of(request, backend)) == before
    assert StorageReservation.objects.count() == 0


def test_deleting_a_document_asks_for_its_name_then_removes_bytes_and_accounting(
    backend: str,
    request: pytest.FixtureRequest,
    tenant: Tenant,
    in_tenant: Any,
    people: dict[str, User],
    private_site: Site,
    django_capture_on_commit_callbacks: Any,
) -> None:
    editor = signed_in(tenant, people["editor"])
    with django_capture_on_commit_callbacks(execute=True):
        document = _upload(editor, private_site.project, "photo.png", png(), tenant, in_tenant)
    url = f"{documents_url(private_site.project)}{document.pk}/delete/"
    assert len(stored_keys(moto_of(request, backend))) == 2  # the image and its thumbnail

    wrong = editor.post(url, {"confirm_name": "nope"})
    assert wrong.status_code == 400
    assert "Type the file&#x27;s name, photo.png" in wrong.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        assert editor.post(url, {"confirm_name": "photo.png"}).status_code == 302

    assert stored_keys(moto_of(request, backend)) == []
    assert usage(tenant) == (0, 0, 0)
    with in_tenant(tenant):
        assert AuditEntry.objects.filter(action="document.deleted").exists()


def test_deleting_a_task_or_a_project_takes_its_files_and_their_bytes(
    backend: str,
    request: pytest.FixtureRequest,
    tenant: Tenant,
    in_tenant: Any,
    people: dict[str, User],
    private_site: Site,
    django_capture_on_commit_callbacks: Any,
) -> None:
    editor = signed_in(tenant, people["editor"])
    assert form_upload(editor, private_site.project, "task.pdf", pdf(), task=private_site.task.pk).status_code == 302
    assert form_upload(editor, private_site.project, "project.pdf", pdf()).status_code == 302
    assert usage(tenant)[2] == 2

    with django_capture_on_commit_callbacks(execute=True), in_tenant(tenant):
        services.task_delete(task=private_site.task, acting_user=people["editor"])
    assert usage(tenant) == (len(pdf()), 0, 1)
    with django_capture_on_commit_callbacks(execute=True), in_tenant(tenant):
        services.project_delete(
            project=private_site.project, confirm_name="Secret launch", acting_user=people["manager"]
        )

    assert stored_keys(moto_of(request, backend)) == []
    assert usage(tenant) == (0, 0, 0)
