"""Documents: uploads (through the server or straight to storage), thumbnails, deletion.

A document's bytes are stored under the workspace's prefix, taken from the connection when the file is saved and
kept in the row. A key read back from a row is used (read, deleted, counted) only once it is found under the prefix
of the workspace being served (`_own_key`): the row's own `storage_prefix` is no proof. Every byte is accounted
(`shared_apps/storage/accounting.py`): reserved when an upload is signed or received, committed when it is
confirmed, released when it is refused or abandoned, removed when it is deleted. The plan's storage limit is
checked, with the workspace's usage row locked, before anything is signed or stored."""

from __future__ import annotations

import io
import logging
import shutil
import tempfile
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext
from django_tenants.utils import schema_context

from billing.entitlements import entitlement_require
from billing.plans import Resource
from shared_apps.accounts.models import User
from shared_apps.core.errors import ApplicationError
from shared_apps.core.l10n import size_text
from shared_apps.core.transactions import enqueue_on_commit
from shared_apps.storage import accounting as storage_accounting
from shared_apps.storage.backends import TenantStorage, UploadForm, files
from shared_apps.storage.images import THUMBNAIL_CONTENT_TYPE, thumbnail_make
from shared_apps.storage.inspection import (
    ALLOWED,
    Inspected,
    LocalSource,
    StoredSource,
    UploadRefused,
    allowed_summary,
    clean_name,
    inspect_upload,
)
from shared_apps.storage.keys import key_new, prefix_check, thumbnail_key_for
from tenant_apps.audit.actions import AuditAction
from tenant_apps.audit.events import EventType, event_emit
from tenant_apps.audit.services import audit_record
from tenant_apps.projects.models import Document, DocumentStatus, Project, Task, ThumbnailStatus
from tenant_apps.projects.permissions import ProjectNotAllowed, ProjectNotFound, ProjectPermission
from tenant_apps.projects.representations import document_data
from tenant_apps.projects.selectors import stored_key
from tenant_apps.projects.services.validation import ProjectInvalid, acting_access, required_workspace_id
from tenants.db import connection

logger = logging.getLogger(__name__)


class DocumentRefused(ApplicationError):
    """An upload that was not kept (its bytes deleted, its reservation released); the message says why."""


@dataclass(frozen=True)
class DirectUpload:
    """A pending document and the form the browser POSTs straight to storage."""

    document: Document
    form: UploadForm


def _storage_prefix() -> str:
    """The workspace's storage prefix as of now (its schema name): taken once, when a file is saved."""
    return prefix_check(str(connection.schema_name))


def _own_key(key: str) -> str | None:
    """`key`, read from a row, when it lies under the prefix of the workspace being served; else None (logged)."""
    return stored_key(key, schema_name=_storage_prefix())


def _task_of(project: Project, task: Task | None) -> Task | None:
    if task is not None and task.project_id != project.pk:
        raise ProjectInvalid(gettext("That task belongs to another project."), field="task")
    return task


def _quota_reserve(prefix: str, *, key: str, nbytes: int) -> None:
    """Lock the workspace's usage, check the plan's storage limit (billing's one check) and hold `nbytes` for `key`,
    in one transaction: two uploads at once cannot both take the last free bytes."""
    usage = storage_accounting.usage_lock(prefix)
    entitlement_require(
        tenant_id=required_workspace_id(), resource=Resource.STORAGE_BYTES, used=usage.used_bytes, adding=max(nbytes, 1)
    )
    storage_accounting.reserve(usage, key=key, nbytes=nbytes)


def _record_refusal(*, project: Project, name: str, reason: str, acting_user: User) -> None:
    audit_record(
        tenant=connection,
        action=AuditAction.DOCUMENT_REFUSED,
        actor=acting_user,
        target=project,
        metadata={"project_id": project.pk, "name": name, "reason": reason},
    )


def _max_upload_bytes() -> int:
    return int(settings.STORAGE_UPLOAD_MAX_BYTES)


def _document_ready(document: Document, inspected: Inspected, *, acting_user: User) -> Document:
    """Fill in what the bytes turned out to be, make the document visible, audit it, and queue its thumbnail."""
    document.name = inspected.name
    document.file_type = inspected.type.code
    document.content_type = inspected.type.content_type
    document.size = inspected.size
    document.width, document.height = inspected.width, inspected.height
    document.status = DocumentStatus.READY
    document.thumbnail_status = ThumbnailStatus.PENDING if inspected.type.is_image else ThumbnailStatus.NONE
    document.confirmed_at = timezone.now()
    document.save()
    audit_record(
        tenant=connection,
        action=AuditAction.DOCUMENT_UPLOADED,
        actor=acting_user,
        target=document,
        metadata={
            "project_id": document.project_id,
            "task_id": document.task_id,
            "name": document.name,
            "type": document.file_type,
            "bytes": document.size,
        },
    )
    event_emit(
        tenant=connection,
        type=EventType.DOCUMENT_UPLOADED,
        actor=acting_user,
        data=document_data(document),
        project_id=document.project_id,
    )
    if inspected.type.is_image:
        from tenant_apps.projects.tasks import document_thumbnail  # noqa: PLC0415  (the tasks import these services)

        # The task runs in this workspace's schema, named now (after commit the connection may be elsewhere).
        enqueue_on_commit(document_thumbnail, schema_name=str(connection.schema_name), document_id=document.pk)
    return document


def document_upload(
    *, project: Project, task: Task | None = None, content: IO[bytes], size: int, name: str, acting_user: User
) -> Document:
    """A file sent through the app (a plain form, no JavaScript): checked by its bytes before anything is stored, then
    stored under a generated key, accounted and made visible."""
    acting_access(acting_user).require(ProjectPermission.CHANGE, project)
    task = _task_of(project, task)
    try:
        inspected = inspect_upload(LocalSource(content, size), declared_name=name, max_bytes=_max_upload_bytes())
    except UploadRefused as exc:
        with transaction.atomic():
            _record_refusal(project=project, name=clean_name(name), reason=exc.message, acting_user=acting_user)
        raise DocumentRefused(exc.message) from exc
    prefix = _storage_prefix()
    key = key_new(prefix, inspected.type.extension)
    with transaction.atomic():
        _quota_reserve(prefix, key=key, nbytes=inspected.size)
    storage = files()
    try:
        stored = storage.put(key, content, content_type=inspected.type.content_type)
        with transaction.atomic():
            storage_accounting.commit(prefix, key=key, nbytes=stored)
            document = Document(
                project=project, task=task, storage_prefix=prefix, key=key, size=stored, uploaded_by=acting_user
            )
            return _document_ready(document, inspected, acting_user=acting_user)
    except BaseException:
        storage.delete_many([key])
        with transaction.atomic():
            storage_accounting.release(prefix, key=key)
        raise


def document_upload_start(
    *, project: Project, task: Task | None = None, name: str, size: int, acting_user: User
) -> DirectUpload:
    """Sign a direct upload (the browser POSTs the bytes to storage itself): the quota is checked and `size` bytes
    reserved first; the document stays pending, seen by nobody, until `document_upload_confirm` checks what
    arrived. The form's policy pins the key and the exact size."""
    acting_access(acting_user).require(ProjectPermission.CHANGE, project)
    task = _task_of(project, task)
    display = clean_name(name)
    maximum = _max_upload_bytes()
    if size <= 0:
        raise DocumentRefused(gettext("This file is empty."))
    if size > maximum:
        raise DocumentRefused(
            gettext("This file is %(human_size)s; files can be at most %(human_size2)s.")
            % {"human_size": size_text(size), "human_size2": size_text(maximum)}
        )
    extension = display.rpartition(".")[2].lower() if "." in display else ""
    declared = next((t for t in ALLOWED.values() if extension in t.extensions), None)
    if declared is None:
        raise DocumentRefused(
            gettext("“%(display)s” is not a kind of file Atrium takes. You can upload %(allowed_summary)s.")
            % {"display": display, "allowed_summary": allowed_summary()}
        )
    prefix = _storage_prefix()
    key = key_new(prefix, declared.extension)
    with transaction.atomic():
        _quota_reserve(prefix, key=key, nbytes=size)
        document = Document.objects.create(
            project=project,
            task=task,
            storage_prefix=prefix,
            key=key,
            name=display,
            file_type="",
            content_type="",
            size=size,
            status=DocumentStatus.PENDING,
            uploaded_by=acting_user,
        )
    form = files().sign_upload(key, max_bytes=size, min_bytes=size)
    return DirectUpload(document=document, form=form)


def _pending_discard(
    document: Document, key: str, *, storage: TenantStorage, project: Project, reason: str, user: User
) -> None:
    storage.delete_many([key])
    with transaction.atomic():
        storage_accounting.release(_storage_prefix(), key=key)
        Document.objects.filter(pk=document.pk, status=DocumentStatus.PENDING).delete()
        _record_refusal(project=project, name=document.name, reason=reason, acting_user=user)


def document_upload_confirm(*, document: Document, acting_user: User) -> Document:
    """The browser says its direct upload is done: the object is checked where it is (its size by a HEAD, its type
    by its bytes) before the document becomes visible. Anything wrong — missing, larger than signed for, a type that
    is not allowed or does not match its name — is deleted and refused; its reservation goes back."""
    project = document.project
    acting_access(acting_user).require(ProjectPermission.CHANGE, project)
    if document.status != DocumentStatus.PENDING:
        return document
    if document.uploaded_by_id != acting_user.pk:
        raise ProjectNotAllowed(gettext("Only the person who started an upload can finish it."))
    key = _own_key(document.key)
    if key is None:
        raise ProjectNotFound(gettext("There is no such document in this project."))
    storage = files()
    size = storage.head(key)
    try:
        if size is None:
            raise UploadRefused(gettext("The file did not arrive in storage. Try the upload again."))
        if size != document.size:
            raise UploadRefused(
                gettext("The stored file is %(human_size)s, not the %(human_size2)s that was signed for.")
                % {"human_size": size_text(size), "human_size2": size_text(document.size)}
            )
        inspected = inspect_upload(
            StoredSource(storage, key, size), declared_name=document.name, max_bytes=document.size
        )
        if inspected.type.extension != key.rsplit(".", 1)[-1]:
            raise UploadRefused(
                gettext("“%(name)s” is named as one kind of file but its contents are a %(label)s.")
                % {"name": document.name, "label": inspected.type.label}
            )
    except UploadRefused as exc:
        _pending_discard(document, key, storage=storage, project=project, reason=exc.message, user=acting_user)
        raise DocumentRefused(exc.message) from exc
    try:
        with transaction.atomic():
            storage_accounting.commit(_storage_prefix(), key=key, nbytes=size)
            return _document_ready(document, inspected, acting_user=acting_user)
    except storage_accounting.ReservationGone as exc:
        _pending_discard(document, key, storage=storage, project=project, reason="expired", user=acting_user)
        raise DocumentRefused(gettext("The upload took too long and was cleaned up. Start it again.")) from exc


def document_upload_cancel(*, document: Document, acting_user: User) -> None:
    """The browser gave up on a direct upload (an error, the person cancelled): bytes deleted, reservation released."""
    acting_access(acting_user).require(ProjectPermission.CHANGE, document.project)
    if document.status != DocumentStatus.PENDING or document.uploaded_by_id != acting_user.pk:
        return
    key = _own_key(document.key)
    if key is not None:
        files().delete_many([key])
    with transaction.atomic():
        if key is not None:
            storage_accounting.release(_storage_prefix(), key=key)
        Document.objects.filter(pk=document.pk, status=DocumentStatus.PENDING).delete()


def documents_forget(documents: QuerySet[Document]) -> list[str]:
    """Account the deletion of `documents` (their rows are about to go): committed bytes removed, pending uploads'
    reservations released, from this workspace's usage. Returns the keys to delete from storage once the transaction
    commits. A key outside this workspace's prefix is neither deleted nor counted (the row still goes)."""
    prefix = _storage_prefix()
    keys: list[str] = []
    nbytes = objects = 0
    for key, thumbnail, size, thumbnail_size, status in documents.values_list(
        "key", "thumbnail_key", "size", "thumbnail_size", "status"
    ):
        own = _own_key(key)
        own_thumbnail = _own_key(thumbnail) if thumbnail else None
        keys.extend(k for k in (own, own_thumbnail) if k is not None)
        if status == DocumentStatus.PENDING:
            if own is not None:
                storage_accounting.release(prefix, key=own)
            continue
        for counted, counted_size in ((own, size), (own_thumbnail, thumbnail_size)):
            if counted is not None:
                nbytes += counted_size
                objects += 1
    if objects:
        storage_accounting.remove_stored(prefix, nbytes=nbytes, objects=objects)
    return keys


def stored_files_delete_after_commit(keys: list[str]) -> None:
    if keys:
        transaction.on_commit(lambda: files().delete_many(keys), robust=True)


@transaction.atomic
def document_delete(*, document: Document, confirm_name: str, acting_user: User) -> None:
    """Delete a document and its thumbnail: rows and accounting in this transaction, the bytes after it commits."""
    acting_access(acting_user).require(ProjectPermission.CHANGE, document.project)
    if confirm_name.strip() != document.name:
        raise ProjectInvalid(
            gettext("Type the file's name, %(name)s, to delete it.") % {"name": document.name}, field="confirm_name"
        )
    keys = documents_forget(Document.objects.filter(pk=document.pk))
    audit_record(
        tenant=connection,
        action=AuditAction.DOCUMENT_DELETED,
        actor=acting_user,
        target=document,
        metadata={"project_id": document.project_id, "name": document.name, "bytes": document.size},
    )
    event_emit(
        tenant=connection,
        type=EventType.DOCUMENT_DELETED,
        actor=acting_user,
        data=document_data(document),
        project_id=document.project_id,
    )
    document.delete()
    stored_files_delete_after_commit(keys)


def document_thumbnail_make(*, document_id: int) -> str:
    """Make an image's thumbnail (a task, after the upload): read the original, write a small WebP next to it under
    the same prefix (the row's, as saved), account its bytes, mark it ready. Returns what happened."""
    document = Document.objects.filter(pk=document_id, status=DocumentStatus.READY).first()
    if document is None or document.thumbnail_status != ThumbnailStatus.PENDING or not document.is_image:
        return "skipped"
    file_type = ALLOWED[document.file_type]
    storage = files()
    assert file_type.image_format is not None  # noqa: S101
    original = _own_key(document.key)
    if original is None:
        Document.objects.filter(pk=document.pk).update(thumbnail_status=ThumbnailStatus.FAILED)
        return "failed"
    try:
        with storage.open_stream(original) as stream, tempfile.SpooledTemporaryFile(8 * 1024 * 1024) as spool:
            shutil.copyfileobj(stream, spool, 1024 * 1024)
            spool.seek(0)
            data, _width, _height = thumbnail_make(spool, image_format=file_type.image_format)
    except Exception:
        logger.exception("thumbnail failed", extra={"document": document.pk})
        Document.objects.filter(pk=document.pk).update(thumbnail_status=ThumbnailStatus.FAILED)
        return "failed"
    key = thumbnail_key_for(original)
    if storage.exists(key):
        storage.delete(key)  # a retry of this task: the earlier attempt's thumbnail was never accounted
    size = storage.put(key, io.BytesIO(data), content_type=THUMBNAIL_CONTENT_TYPE)
    with transaction.atomic():
        updated = Document.objects.filter(pk=document.pk, thumbnail_status=ThumbnailStatus.PENDING).update(
            thumbnail_key=key, thumbnail_size=size, thumbnail_status=ThumbnailStatus.READY
        )
        if updated:
            storage_accounting.add_stored(_storage_prefix(), nbytes=size)
    if not updated:  # deleted (or done) meanwhile
        storage.delete_many([key])
        return "skipped"
    return "ready"


def pending_upload_forget(*, prefix: str, key: str) -> int:
    """The storage layer cleaned up an upload nobody confirmed: its pending document goes too."""
    with schema_context(prefix):
        deleted, _ = Document.objects.filter(key=key, status=DocumentStatus.PENDING).delete()
    return deleted
