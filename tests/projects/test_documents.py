"""Documents in the product, on both storage backends: uploads (through the app, and straight to storage with a
signed form confirmed by the app), thumbnails by a task, downloads only after the project's permission check, the
same rules for everyone, isolation between workspaces, and every byte accounted (quota, delete, abandon, drift)."""

from __future__ import annotations

import io
import logging
import re
from datetime import timedelta
from typing import Any

import pytest
import urllib3
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing import selectors as billing_selectors
from billing.models import BillingAccount
from billing.plans import GB
from shared_apps.accounts.models import User
from shared_apps.storage import accounting
from shared_apps.storage.backends import files
from shared_apps.storage.models import StorageReservation, StorageUsage
from shared_apps.storage.tasks import reservations_expire
from tenant_apps.audit.models import AuditEntry
from tenant_apps.projects import services
from tenant_apps.projects.models import Document, DocumentStatus, Project, ThumbnailStatus
from tenants.db import connection
from tenants.models import Tenant
from tests import storage_fixtures as make
from tests.conftest import HostClient, client_for
from tests.factories import MembershipFactory, ProjectFactory
from tests.projects.conftest import Site, signed_in
from tests.storage_fixtures import Moto, moto_of, pdf, png, send_signed, stored_keys

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


# --- uploads -------------------------------------------------------------------------------------------------------


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


# --- downloads -----------------------------------------------------------------------------------------------------


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


# --- the quota and the accounting ----------------------------------------------------------------------------------


def test_the_plans_storage_limit_is_enforced_before_anything_is_signed_or_stored(
    backend: str,
    request: pytest.FixtureRequest,
    tenant: Tenant,
    in_tenant: Any,
    people: dict[str, User],
    private_site: Site,
) -> None:
    BillingAccount.objects.create(tenant=tenant, plan="free", status="active")  # 1 GB, a hard limit
    StorageUsage.objects.create(prefix=tenant.schema_name, committed_bytes=GB - 1000, object_count=1)
    client = signed_in(tenant, people["editor"])

    refused = start(client, private_site.project, "big.pdf", 2000)
    assert refused.status_code == 400
    assert "The Free plan includes 1 GB storage" in refused.json()["error"]
    form = form_upload(client, private_site.project, "big.pdf", pdf() + b"%" * 2000)
    assert form.status_code == 400
    assert "Upgrade the plan" in form.content.decode()

    assert stored_keys(moto_of(request, backend)) == []
    assert StorageReservation.objects.count() == 0
    with in_tenant(tenant):
        assert not Document.objects.exists()
    assert start(client, private_site.project, "small.pdf", 900).status_code == 201  # what still fits is allowed


def test_an_upload_nobody_confirms_is_cleaned_up_by_a_task(
    backend: str,
    request: pytest.FixtureRequest,
    tenant: Tenant,
    in_tenant: Any,
    people: dict[str, User],
    private_site: Site,
) -> None:
    client = signed_in(tenant, people["editor"])
    data = pdf()
    signed = start(client, private_site.project, "lost.pdf", len(data)).json()
    assert send_signed(client, signed, "lost.pdf", data) in (200, 201, 204)
    assert usage(tenant) == (0, len(data), 0)

    StorageReservation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert reservations_expire() == 1

    assert stored_keys(moto_of(request, backend)) == []
    with in_tenant(tenant):
        assert not Document.objects.exists()
    assert usage(tenant) == (0, 0, 0)
    late = client.post(signed["confirm"])
    assert late.status_code == 404


def test_reconcile_lists_the_prefix_and_corrects_drift(
    backend: str, tenant: Tenant, in_tenant: Any, people: dict[str, User], private_site: Site, caplog: Any
) -> None:
    client = signed_in(tenant, people["editor"])
    assert form_upload(client, private_site.project, "a.pdf", pdf()).status_code == 302
    StorageUsage.objects.filter(prefix=tenant.schema_name).update(committed_bytes=999_999, object_count=7)

    with caplog.at_level(logging.WARNING, logger="shared_apps.storage.accounting"):
        drift = accounting.reconcile(tenant.schema_name)

    assert drift.drifted
    assert (drift.committed_before, drift.committed_after) == (999_999, len(pdf()))
    assert usage(tenant) == (len(pdf()), 0, 1)
    assert any(r.getMessage() == "storage drift corrected" for r in caplog.records)
    assert not accounting.reconcile(tenant.schema_name).drifted


# --- hostile input ---------------------------------------------------------------------------------------------------


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


# --- fixed queries -------------------------------------------------------------------------------------------------


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


def test_the_workspaces_settings_show_its_storage_against_the_plan(
    tenant: Tenant, other_tenant: Tenant, in_tenant: Any, people: dict[str, User], private_site: Site, outsider: User
) -> None:
    BillingAccount.objects.create(tenant=tenant, plan="free", status="active")
    assert form_upload(signed_in(tenant, people["editor"]), private_site.project, "a.pdf", pdf()).status_code == 302
    StorageUsage.objects.filter(prefix=tenant.schema_name).update(committed_bytes=512 * 1024 * 1024)

    page = signed_in(tenant, people["owner"]).get("/settings/").content.decode()
    theirs = signed_in(other_tenant, outsider).get("/settings/").content.decode()

    assert "512 MB of 1 GB used" in page
    assert "1 file and previews" in page
    assert 'value="50"' in page
    assert "0 B of" in theirs
