"""Writes of the product. Each one: keyword-only and typed, checks `acting_user`'s permission itself (through
`permissions.py`, whatever page or API called it), runs in one transaction, and writes an audit entry."""

from __future__ import annotations

import datetime as dt
import io
import logging
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django_tenants.utils import schema_context

from billing.entitlements import entitlement_require
from billing.plans import Resource
from shared_apps.accounts.models import Membership, User
from shared_apps.core.errors import ApplicationError
from shared_apps.core.text import has_control_characters, has_control_characters_in_text
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
    human_size,
    inspect_upload,
)
from shared_apps.storage.keys import key_new, prefix_check, thumbnail_key_for
from tenant_apps.audit.actions import AuditAction
from tenant_apps.audit.events import EventType
from tenant_apps.audit.services import HasSchema, audit_record, audit_record_many
from tenant_apps.projects.models import (
    NAME_MAX_LENGTH,
    TEXT_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    Comment,
    Document,
    DocumentStatus,
    Project,
    ProjectUserObjectPermission,
    Task,
    TaskStatus,
    ThumbnailStatus,
    Visibility,
)
from tenant_apps.projects.permissions import (
    WORKSPACE_WIDE_ROLES,
    AccessLevel,
    ProjectAccess,
    ProjectNotAllowed,
    ProjectNotFound,
    ProjectPermission,
    Viewer,
    current_tenant_id,
    granted_codenames,
    level_of,
    permission_ids,
    permissions_for,
)
from tenant_apps.projects.selectors import stored_key
from tenant_apps.projects.stream import comment_event, task_event
from tenants.db import connection

logger = logging.getLogger(__name__)

WELCOME_PROJECT_NAME = "Getting started"
WELCOME_PROJECT_DESCRIPTION = (
    "Your first project. Invite your team from Settings → Members, then create projects for the work you track."
)
# Due dates a person can mean: far dates are typing mistakes (and year 10000 is no date at all).
DUE_DATE_MIN = dt.date(2000, 1, 1)
DUE_DATE_MAX = dt.date(2100, 12, 31)


class ProjectInvalid(ApplicationError):
    """Input a person can correct; `field` names the form field it belongs to ("" for the whole form)."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message, extra={"field": field})
        self.field = field


# --- validation shared by every write ----------------------------------------------------------------------------


def clean_line(value: str, *, label: str, max_length: int, field: str, required: bool = True) -> str:
    """A one-line name or title: trimmed, no control characters, within its length."""
    value = value.strip()
    if required and not value:
        raise ProjectInvalid(f"{label} can't be empty.", field=field)
    if has_control_characters(value):
        raise ProjectInvalid(f"{label} can't contain line breaks or control characters.", field=field)
    if len(value) > max_length:
        raise ProjectInvalid(f"{label} can be at most {max_length} characters (it has {len(value)}).", field=field)
    return value


def clean_text(value: str, *, label: str, field: str, required: bool = False) -> str:
    """Free text (a description, a comment): line breaks and tabs are fine, other control characters are not."""
    value = value.strip().replace("\r\n", "\n")
    if required and not value:
        raise ProjectInvalid(f"{label} can't be empty.", field=field)
    if has_control_characters_in_text(value):
        raise ProjectInvalid(f"{label} can't contain control characters.", field=field)
    if len(value) > TEXT_MAX_LENGTH:
        raise ProjectInvalid(f"{label} can be at most {TEXT_MAX_LENGTH:,} characters.", field=field)
    return value


def clean_due_date(value: dt.date | None) -> dt.date | None:
    if value is not None and not DUE_DATE_MIN <= value <= DUE_DATE_MAX:
        raise ProjectInvalid(f"Pick a due date between {DUE_DATE_MIN.year} and {DUE_DATE_MAX.year}.", field="due_date")
    return value


def _access(acting_user: User | None) -> ProjectAccess:
    return ProjectAccess(Viewer.of_user(acting_user))


def _tenant_id() -> int:
    tenant_id = current_tenant_id()
    if tenant_id is None:
        raise ProjectNotAllowed("Projects live in a workspace; this is not one.")
    return tenant_id


# --- projects ----------------------------------------------------------------------------------------------------


@transaction.atomic
def project_create(
    *,
    name: str,
    description: str = "",
    visibility: str = Visibility.WORKSPACE,
    acting_user: User | None,
) -> Project:
    """A new project. Any member may create one, and manages what they create (a grant, so it outlives a role
    change). `acting_user=None` is the platform itself (the welcome project)."""
    viewer = Viewer.of_user(acting_user) if acting_user is not None else None
    if viewer is not None and not viewer.is_member:
        raise ProjectNotAllowed("Only members of this workspace can create projects in it.")
    name = clean_line(name, label="Name", max_length=NAME_MAX_LENGTH, field="name")
    description = clean_text(description, label="Description", field="description")
    if visibility not in Visibility.values:
        raise ProjectInvalid("Choose who can see the project.", field="visibility")
    tenant_id = current_tenant_id()
    if acting_user is not None and tenant_id is not None:
        # The plan's project limit (billing's one entitlement check); the platform's own welcome project is free.
        entitlement_require(tenant_id=tenant_id, resource=Resource.PROJECTS, used=Project.objects.count())
    project = Project.objects.create(name=name, description=description, visibility=visibility, created_by=acting_user)
    audit_record(
        tenant=connection,
        action=AuditAction.PROJECT_CREATED,
        actor=acting_user,
        target=project,
        metadata={"visibility": visibility},
    )
    if acting_user is not None:
        _grants_apply(
            project,
            {acting_user.pk: AccessLevel.MANAGE},
            {},
            acting_user=acting_user,
            emails={acting_user.pk: acting_user.email},
        )
    return project


def welcome_project_ensure(*, acting_user: User | None = None) -> Project:
    """The tenant's onboarding project, created once."""
    existing = Project.objects.filter(name=WELCOME_PROJECT_NAME).first()
    if existing is not None:
        return existing
    return project_create(name=WELCOME_PROJECT_NAME, description=WELCOME_PROJECT_DESCRIPTION, acting_user=acting_user)


@transaction.atomic
def project_update(*, project: Project, name: str, description: str, acting_user: User) -> Project:
    _access(acting_user).require(ProjectPermission.CHANGE, project)
    name = clean_line(name, label="Name", max_length=NAME_MAX_LENGTH, field="name")
    description = clean_text(description, label="Description", field="description")
    changed = {
        f: {"from": getattr(project, f), "to": v}
        for f, v in (("name", name), ("description", description))
        if getattr(project, f) != v
    }
    if not changed:
        return project
    project.name, project.description = name, description
    project.save(update_fields=["name", "description", "updated_at"])
    audit_record(
        tenant=connection,
        action=AuditAction.PROJECT_UPDATED,
        actor=acting_user,
        target=project,
        metadata={"fields": sorted(changed), "name": changed.get("name")},
    )
    return project


@transaction.atomic
def project_visibility_set(*, project: Project, visibility: str, acting_user: User) -> Project:
    _access(acting_user).require(ProjectPermission.MANAGE, project)
    if visibility not in Visibility.values:
        raise ProjectInvalid("Choose who can see the project.", field="visibility")
    if project.visibility == visibility:
        return project
    previous = project.visibility
    project.visibility = visibility
    project.save(update_fields=["visibility", "updated_at"])
    audit_record(
        tenant=connection,
        action=AuditAction.PROJECT_VISIBILITY_CHANGED,
        actor=acting_user,
        target=project,
        metadata={"from": previous, "to": visibility},
    )
    return project


@transaction.atomic
def project_archive(*, project: Project, acting_user: User) -> Project:
    _access(acting_user).require(ProjectPermission.MANAGE, project)
    if project.archived_at is None:
        project.archived_at = timezone.now()
        project.save(update_fields=["archived_at", "updated_at"])
        audit_record(tenant=connection, action=AuditAction.PROJECT_ARCHIVED, actor=acting_user, target=project)
    return project


@transaction.atomic
def project_restore(*, project: Project, acting_user: User) -> Project:
    _access(acting_user).require(ProjectPermission.MANAGE, project)
    if project.archived_at is not None:
        project.archived_at = None
        project.save(update_fields=["archived_at", "updated_at"])
        audit_record(tenant=connection, action=AuditAction.PROJECT_RESTORED, actor=acting_user, target=project)
    return project


@transaction.atomic
def project_delete(*, project: Project, confirm_name: str, acting_user: User) -> None:
    """Delete a project with its tasks, comments and grants (the grant tables cascade: no orphan grant remains)."""
    _access(acting_user).require(ProjectPermission.MANAGE, project)
    if confirm_name.strip() != project.name:
        raise ProjectInvalid(f"Type the project's name, {project.name}, to delete it.", field="confirm_name")
    tasks = Task.objects.filter(project=project).count()
    keys = _documents_forget(Document.objects.filter(project=project))
    audit_record(
        tenant=connection,
        action=AuditAction.PROJECT_DELETED,
        actor=acting_user,
        target=project,
        metadata={"name": project.name, "tasks": tasks, "files": len(keys)},
    )
    project.delete()
    _delete_after_commit(keys)


# --- sharing -----------------------------------------------------------------------------------------------------


@dataclass
class ShareResult:
    granted: list[str] = field(default_factory=list)  # emails of people who got access or a new level
    revoked: list[str] = field(default_factory=list)
    unchanged: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.granted or self.revoked)


@transaction.atomic
def project_share(*, project: Project, levels: Mapping[int, AccessLevel | None], acting_user: User) -> ShareResult:
    """Set the access level of each person in `levels` (user id → level, None to revoke) on `project`. Only members
    of the workspace can hold a grant; owners and admins already hold everything and are left as they are; nobody
    changes their own level. A fixed number of queries however many people change, and one audit entry per person
    granted, changed or revoked."""
    access = _access(acting_user)
    access.require(ProjectPermission.MANAGE, project)
    if acting_user.pk in levels:
        raise ProjectInvalid("You can't change your own access. Ask another person who manages the project.")
    list(Project.objects.select_for_update().filter(pk=project.pk).values_list("pk", flat=True))  # one at a time
    memberships = {
        m.user_id: m
        for m in Membership.objects.filter(tenant_id=_tenant_id(), user_id__in=list(levels)).select_related("user")
    }
    unknown = set(levels) - set(memberships)
    if unknown:
        raise ProjectInvalid("Projects can only be shared with members of this workspace.")
    wanted = {uid: level for uid, level in levels.items() if memberships[uid].role not in WORKSPACE_WIDE_ROLES}
    current = {uid: level_of(codes) for uid, codes in _direct_grants(project, list(wanted)).items()}
    grants = {uid: level for uid, level in wanted.items() if level is not None and current.get(uid) != level}
    revokes = {uid: was for uid, level in wanted.items() if level is None and (was := current.get(uid)) is not None}
    emails = {uid: m.user.email for uid, m in memberships.items()}
    result = _grants_apply(project, grants, revokes, acting_user=acting_user, emails=emails, current=current)
    result.unchanged = len(levels) - len(grants) - len(revokes)
    return result


def _direct_grants(project: Project, user_ids: list[int]) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    for uid, codename in ProjectUserObjectPermission.objects.filter(
        content_object=project, user_id__in=user_ids
    ).values_list("user_id", "permission__codename"):
        found.setdefault(uid, set()).add(codename)
    return found


def _grants_apply(
    project: Project,
    grants: Mapping[int, AccessLevel],
    revokes: Mapping[int, AccessLevel],
    *,
    acting_user: User,
    emails: Mapping[int, str],
    current: Mapping[int, AccessLevel | None] | None = None,
) -> ShareResult:
    """Replace the rows of everyone in `grants` and `revokes` with their new level: one DELETE, one INSERT, one
    query for the permission ids and one INSERT per audit action, whatever the number of people."""
    current = current or {}
    result = ShareResult()
    touched = set(grants) | set(revokes)
    if not touched:
        return result
    ProjectUserObjectPermission.objects.filter(content_object=project, user_id__in=touched).delete()
    if grants:
        ids = permission_ids()
        ProjectUserObjectPermission.objects.bulk_create(
            ProjectUserObjectPermission(user_id=uid, content_object=project, permission_id=ids[p.value])
            for uid, level in grants.items()
            for p in level.permissions
        )
    audit_record_many(
        tenant=connection,
        action=AuditAction.PROJECT_SHARED,
        actor=acting_user,
        target=project,
        metadata_list=[
            {
                "user_id": uid,
                "email": emails.get(uid, ""),
                "level": str(level),
                "previous_level": str(current[uid]) if current.get(uid) else None,
            }
            for uid, level in grants.items()
        ],
    )
    audit_record_many(
        tenant=connection,
        action=AuditAction.PROJECT_UNSHARED,
        actor=acting_user,
        target=project,
        metadata_list=[
            {"user_id": uid, "email": emails.get(uid, ""), "previous_level": str(level)}
            for uid, level in revokes.items()
        ],
    )
    result.granted = [emails.get(uid, str(uid)) for uid in grants]
    result.revoked = [emails.get(uid, str(uid)) for uid in revokes]
    return result


# --- tasks -------------------------------------------------------------------------------------------------------


def _check_assignee(project: Project, assignee_id: int | None) -> int | None:
    """An assignee must be a member of the workspace who may view the project."""
    if assignee_id is None:
        return None
    membership = Membership.objects.filter(tenant_id=_tenant_id(), user_id=assignee_id).select_related("user").first()
    if membership is None:
        raise ProjectInvalid("Assign the task to a member of this workspace.", field="assignee")
    viewer = Viewer(user=membership.user, role=membership.role)
    granted = granted_codenames(viewer, [project.pk]).get(project.pk, set())
    if ProjectPermission.VIEW not in permissions_for(viewer, project, granted):
        raise ProjectInvalid(
            f"{membership.user.get_full_name()} can't see this project; share it with them first.", field="assignee"
        )
    return assignee_id


@transaction.atomic
def task_create(
    *,
    project: Project,
    title: str,
    acting_user: User,
    description: str = "",
    status: str = TaskStatus.TODO,
    assignee_id: int | None = None,
    due_date: dt.date | None = None,
) -> Task:
    """A new task at the bottom of its column."""
    _access(acting_user).require(ProjectPermission.CHANGE, project)
    title = clean_line(title, label="Title", max_length=TITLE_MAX_LENGTH, field="title")
    description = clean_text(description, label="Description", field="description")
    if status not in TaskStatus.values:
        raise ProjectInvalid("Choose a column for the task.", field="status")
    assignee_id = _check_assignee(project, assignee_id)
    due_date = clean_due_date(due_date)
    last = Task.objects.filter(project=project, status=status).order_by("-position").values_list("position", flat=True)
    position = (last.first() or 0) + 1
    task = Task.objects.create(
        project=project,
        title=title,
        description=description,
        status=status,
        assignee_id=assignee_id,
        due_date=due_date,
        position=position,
        created_by=acting_user,
    )
    audit_record(
        tenant=connection,
        action=AuditAction.TASK_CREATED,
        actor=acting_user,
        target=task,
        metadata={"project_id": project.pk, "status": status},
    )
    task_event(EventType.TASK_CREATED, task=task, acting_user=acting_user)
    return task


@transaction.atomic
def task_update(
    *,
    task: Task,
    title: str,
    description: str,
    assignee_id: int | None,
    due_date: dt.date | None,
    acting_user: User,
) -> Task:
    """Edit a task's title, description, assignee and due date (its column and place change by `task_move`)."""
    project = task.project
    _access(acting_user).require(ProjectPermission.CHANGE, project)
    values = {
        "title": clean_line(title, label="Title", max_length=TITLE_MAX_LENGTH, field="title"),
        "description": clean_text(description, label="Description", field="description"),
        "assignee_id": _check_assignee(project, assignee_id) if assignee_id != task.assignee_id else assignee_id,
        "due_date": clean_due_date(due_date),
    }
    changed = sorted(f for f, v in values.items() if getattr(task, f) != v)
    if not changed:
        return task
    previous = {f.removesuffix("_id"): getattr(task, f) for f in changed if f != "description"}
    for f, v in values.items():
        setattr(task, f, v)
    task.save(update_fields=[*values, "updated_at"])
    audit_record(
        tenant=connection,
        action=AuditAction.TASK_UPDATED,
        actor=acting_user,
        target=task,
        metadata={"project_id": project.pk, "fields": changed},
    )
    task_event(EventType.TASK_UPDATED, task=task, acting_user=acting_user, previous=previous)
    return task


@transaction.atomic
def task_move(*, task: Task, status: str, position: int, acting_user: User) -> Task:
    """Put `task` at `position` (0 = top, clamped to the column) of the `status` column. The target column is locked
    and renumbered in one UPDATE: the order persists and concurrent moves queue up. A fixed number of queries."""
    project = task.project
    _access(acting_user).require(ProjectPermission.CHANGE, project)
    if status not in TaskStatus.values:
        raise ProjectInvalid("Choose a column for the task.", field="status")
    column = list(
        Task.objects.select_for_update()
        .filter(project=project, status=status)
        .exclude(pk=task.pk)
        .order_by("position", "id")
        .only("id", "position", "status")
    )
    moving = Task.objects.select_for_update().only("id", "position", "status").get(pk=task.pk)
    before = {"status": moving.status, "position": moving.position}
    position = max(0, min(position, len(column)))
    column.insert(position, moving)
    now = timezone.now()
    changed = []
    for index, row in enumerate(column):
        if row.position != index or row.status != status:
            row.position, row.status, row.updated_at = index, status, now
            changed.append(row)
    if changed:
        Task.objects.bulk_update(changed, ["status", "position", "updated_at"])
    task.status, task.position = status, position
    if before["status"] != status or any(row.pk == task.pk for row in changed):
        audit_record(
            tenant=connection,
            action=AuditAction.TASK_MOVED,
            actor=acting_user,
            target=task,
            metadata={
                "project_id": project.pk,
                "from": before["status"],
                "to": status,
                "position": position,
            },
        )
        task_event(EventType.TASK_MOVED, task=task, acting_user=acting_user)
    return task


@transaction.atomic
def task_delete(*, task: Task, acting_user: User) -> None:
    _access(acting_user).require(ProjectPermission.CHANGE, task.project)
    audit_record(
        tenant=connection,
        action=AuditAction.TASK_DELETED,
        actor=acting_user,
        target=task,
        metadata={"project_id": task.project_id, "title": task.title},
    )
    task_event(EventType.TASK_DELETED, task=task, acting_user=acting_user)
    keys = _documents_forget(Document.objects.filter(task=task))
    task.delete()
    _delete_after_commit(keys)


# --- comments ----------------------------------------------------------------------------------------------------


@transaction.atomic
def comment_create(*, task: Task, body: str, acting_user: User) -> Comment:
    _access(acting_user).require(ProjectPermission.CHANGE, task.project)
    body = clean_text(body, label="Comment", field="body", required=True)
    comment = Comment.objects.create(task=task, author=acting_user, body=body)
    audit_record(
        tenant=connection,
        action=AuditAction.COMMENT_CREATED,
        actor=acting_user,
        target=comment,
        metadata={"project_id": task.project_id, "task_id": task.pk},
    )
    comment_event(EventType.COMMENT_CREATED, comment=comment, project_id=task.project_id, acting_user=acting_user)
    return comment


@transaction.atomic
def comment_edit(*, comment: Comment, body: str, acting_user: User) -> Comment:
    """Authors edit their own comments (while they may still change the project)."""
    _access(acting_user).require(ProjectPermission.CHANGE, comment.task.project)
    if comment.author_id != acting_user.pk:
        raise ProjectNotAllowed("Only its author can edit a comment.")
    body = clean_text(body, label="Comment", field="body", required=True)
    if body == comment.body:
        return comment
    comment.body, comment.edited_at = body, timezone.now()
    comment.save(update_fields=["body", "edited_at"])
    audit_record(
        tenant=connection,
        action=AuditAction.COMMENT_EDITED,
        actor=acting_user,
        target=comment,
        metadata={"project_id": comment.task.project_id, "task_id": comment.task_id},
    )
    return comment


@transaction.atomic
def comment_delete(*, comment: Comment, acting_user: User) -> None:
    """Authors delete their own comments, and people who manage the project delete anyone's (while the project may
    be changed: an archived project's comments stay as they are)."""
    access = _access(acting_user)
    project = comment.task.project
    access.require(ProjectPermission.CHANGE, project)
    if comment.author_id != acting_user.pk and not access.can_manage(project):
        raise ProjectNotAllowed("Only its author, or someone who manages the project, can delete a comment.")
    audit_record(
        tenant=connection,
        action=AuditAction.COMMENT_DELETED,
        actor=acting_user,
        target=comment,
        metadata={"project_id": project.pk, "task_id": comment.task_id, "author_id": comment.author_id},
    )
    comment_event(EventType.COMMENT_DELETED, comment=comment, project_id=project.pk, acting_user=acting_user)
    comment.delete()


def grants_revoke_departed(*, tenant: HasSchema, user_id: int) -> int:
    """Someone left the workspace (or was removed): their per-project grants go too, so nothing comes back if they
    are invited again. Runs in the transaction that ended the membership. Returns how many grants went."""
    with schema_context(tenant.schema_name):
        grants = ProjectUserObjectPermission.objects.filter(user_id=user_id)
        projects = sorted(set(grants.values_list("content_object_id", flat=True)))
        if not projects:
            return 0
        removed, _ = grants.delete()
        audit_record(
            tenant=tenant,
            action=AuditAction.PROJECT_UNSHARED,
            actor=None,
            metadata={"user_id": user_id, "projects": projects, "reason": "no longer a member"},
        )
    return removed


# --- documents ---------------------------------------------------------------------------------------------------
#
# A document's bytes are stored under the workspace's prefix, taken from the connection when the file is saved and
# kept in the row. A key read back from a row is used (read, deleted, counted) only once it is found under the prefix
# of the workspace being served (`_own_key`): the row's own `storage_prefix` is no proof. Every byte is accounted
# (`shared_apps/storage/accounting.py`): reserved when an upload is signed or received, committed when it is
# confirmed, released when it is refused or abandoned, removed when it is deleted. The plan's storage limit is
# checked, with the workspace's usage row locked, before anything is signed or stored.


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
        raise ProjectInvalid("That task belongs to another project.", field="task")
    return task


def _quota_reserve(prefix: str, *, key: str, nbytes: int) -> None:
    """Lock the workspace's usage, check the plan's storage limit (billing's one check) and hold `nbytes` for `key`,
    in one transaction: two uploads at once cannot both take the last free bytes."""
    usage = storage_accounting.usage_lock(prefix)
    entitlement_require(
        tenant_id=_tenant_id(), resource=Resource.STORAGE_BYTES, used=usage.used_bytes, adding=max(nbytes, 1)
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
    _access(acting_user).require(ProjectPermission.CHANGE, project)
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
    _access(acting_user).require(ProjectPermission.CHANGE, project)
    task = _task_of(project, task)
    display = clean_name(name)
    maximum = _max_upload_bytes()
    if size <= 0:
        raise DocumentRefused("This file is empty.")
    if size > maximum:
        raise DocumentRefused(f"This file is {human_size(size)}; files can be at most {human_size(maximum)}.")
    extension = display.rpartition(".")[2].lower() if "." in display else ""
    declared = next((t for t in ALLOWED.values() if extension in t.extensions), None)
    if declared is None:
        raise DocumentRefused(f"“{display}” is not a kind of file Atrium takes. You can upload {allowed_summary()}.")
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
    _access(acting_user).require(ProjectPermission.CHANGE, project)
    if document.status != DocumentStatus.PENDING:
        return document
    if document.uploaded_by_id != acting_user.pk:
        raise ProjectNotAllowed("Only the person who started an upload can finish it.")
    key = _own_key(document.key)
    if key is None:
        raise ProjectNotFound("There is no such document in this project.")
    storage = files()
    size = storage.head(key)
    try:
        if size is None:
            raise UploadRefused("The file did not arrive in storage. Try the upload again.")
        if size != document.size:
            raise UploadRefused(
                f"The stored file is {human_size(size)}, not the {human_size(document.size)} that was signed for."
            )
        inspected = inspect_upload(
            StoredSource(storage, key, size), declared_name=document.name, max_bytes=document.size
        )
        if inspected.type.extension != key.rsplit(".", 1)[-1]:
            raise UploadRefused(
                f"“{document.name}” is named as one kind of file but its contents are a {inspected.type.label}."
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
        raise DocumentRefused("The upload took too long and was cleaned up. Start it again.") from exc


def document_upload_cancel(*, document: Document, acting_user: User) -> None:
    """The browser gave up on a direct upload (an error, the person cancelled): bytes deleted, reservation released."""
    _access(acting_user).require(ProjectPermission.CHANGE, document.project)
    if document.status != DocumentStatus.PENDING or document.uploaded_by_id != acting_user.pk:
        return
    key = _own_key(document.key)
    if key is not None:
        files().delete_many([key])
    with transaction.atomic():
        if key is not None:
            storage_accounting.release(_storage_prefix(), key=key)
        Document.objects.filter(pk=document.pk, status=DocumentStatus.PENDING).delete()


def _documents_forget(documents: QuerySet[Document]) -> list[str]:
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


def _delete_after_commit(keys: list[str]) -> None:
    if keys:
        transaction.on_commit(lambda: files().delete_many(keys), robust=True)


@transaction.atomic
def document_delete(*, document: Document, confirm_name: str, acting_user: User) -> None:
    """Delete a document and its thumbnail: rows and accounting in this transaction, the bytes after it commits."""
    _access(acting_user).require(ProjectPermission.CHANGE, document.project)
    if confirm_name.strip() != document.name:
        raise ProjectInvalid(f"Type the file's name, {document.name}, to delete it.", field="confirm_name")
    keys = _documents_forget(Document.objects.filter(pk=document.pk))
    audit_record(
        tenant=connection,
        action=AuditAction.DOCUMENT_DELETED,
        actor=acting_user,
        target=document,
        metadata={"project_id": document.project_id, "name": document.name, "bytes": document.size},
    )
    document.delete()
    _delete_after_commit(keys)


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
