"""Tasks: create, edit, move on the board, delete."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shared_apps.accounts.models import Membership, User
from shared_apps.core.errors import ApplicationError
from tenant_apps.audit.actions import AuditAction
from tenant_apps.audit.events import EventType, event_emit
from tenant_apps.audit.services import audit_record
from tenant_apps.projects.models import TITLE_MAX_LENGTH, Document, Project, Task, TaskStatus
from tenant_apps.projects.permissions import ProjectPermission, Viewer, granted_codenames, permissions_for
from tenant_apps.projects.representations import task_data
from tenant_apps.projects.services.documents import documents_forget, stored_files_delete_after_commit
from tenant_apps.projects.services.labels import task_labels_set
from tenant_apps.projects.services.validation import (
    ProjectInvalid,
    acting_access,
    clean_due_date,
    clean_line,
    clean_text,
    required_workspace_id,
)
from tenants.db import connection

# "At the bottom of its column", whatever the column holds (`task_move` clamps a position past the end).
BOTTOM = 1_000_000


def _check_assignee(project: Project, assignee_id: int | None) -> int | None:
    """An assignee must be a member of the workspace who may view the project."""
    if assignee_id is None:
        return None
    membership = (
        Membership.objects.filter(tenant_id=required_workspace_id(), user_id=assignee_id).select_related("user").first()
    )
    if membership is None:
        raise ProjectInvalid(_("Assign the task to a member of this workspace."), field="assignee")
    viewer = Viewer(user=membership.user, role=membership.role)
    granted = granted_codenames(viewer, [project.pk]).get(project.pk, set())
    if ProjectPermission.VIEW not in permissions_for(viewer, project, granted):
        raise ProjectInvalid(
            _("%(get_full_name)s can't see this project; share it with them first.")
            % {"get_full_name": membership.user.get_full_name()},
            field="assignee",
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
    acting_access(acting_user).require(ProjectPermission.CHANGE, project)
    title = clean_line(title, label=_("Title"), max_length=TITLE_MAX_LENGTH, field="title")
    description = clean_text(description, label=_("Description"), field="description")
    if status not in TaskStatus.values:
        raise ProjectInvalid(_("Choose a column for the task."), field="status")
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
    event_emit(
        tenant=connection, type=EventType.TASK_CREATED, actor=acting_user, data=task_data(task), project_id=project.pk
    )
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
    acting_access(acting_user).require(ProjectPermission.CHANGE, project)
    values = {
        "title": clean_line(title, label=_("Title"), max_length=TITLE_MAX_LENGTH, field="title"),
        "description": clean_text(description, label=_("Description"), field="description"),
        "assignee_id": _check_assignee(project, assignee_id) if assignee_id != task.assignee_id else assignee_id,
        "due_date": clean_due_date(due_date),
    }
    changed = sorted(f for f, v in values.items() if getattr(task, f) != v)
    if not changed:
        return task
    # the former values of what changed (the description's is left out: it may be long), for the event's readers
    previous = {f.removesuffix("_id"): getattr(task, f) for f in changed if f != "description"}
    for f, v in values.items():
        setattr(task, f, v)
    task.version += 1
    task.save(update_fields=[*values, "version", "updated_at"])
    audit_record(
        tenant=connection,
        action=AuditAction.TASK_UPDATED,
        actor=acting_user,
        target=task,
        metadata={"project_id": project.pk, "fields": changed},
    )
    event_emit(
        tenant=connection,
        type=EventType.TASK_UPDATED,
        actor=acting_user,
        data={**task_data(task), "previous": previous},
        project_id=project.pk,
    )
    return task


@transaction.atomic
def task_move(*, task: Task, status: str, position: int, acting_user: User) -> Task:
    """Put `task` at `position` (0 = top, clamped to the column) of the `status` column. The target column is locked
    and renumbered in one UPDATE: the order persists and concurrent moves queue up. A fixed number of queries."""
    project = task.project
    acting_access(acting_user).require(ProjectPermission.CHANGE, project)
    if status not in TaskStatus.values:
        raise ProjectInvalid(_("Choose a column for the task."), field="status")
    column = list(
        Task.objects.select_for_update()
        .filter(project=project, status=status)
        .exclude(pk=task.pk)
        .order_by("position", "id")
        .only("id", "position", "status", "version")
    )
    moving = Task.objects.select_for_update().only("id", "position", "status", "version").get(pk=task.pk)
    before = {"status": moving.status, "position": moving.position}
    position = max(0, min(position, len(column)))
    column.insert(position, moving)
    now = timezone.now()
    changed = []
    for index, row in enumerate(column):
        if row.position != index or row.status != status:
            row.position, row.status, row.updated_at = index, status, now
            changed.append(row)
    if before["status"] != status:  # the task page shows the column: a save from before the move is a conflict
        moving.version += 1
    if changed:
        Task.objects.bulk_update(changed, ["status", "position", "version", "updated_at"])
    task.status, task.position, task.version = status, position, moving.version
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
        event_emit(
            tenant=connection, type=EventType.TASK_MOVED, actor=acting_user, data=task_data(task), project_id=project.pk
        )
    return task


class TaskConflict(ApplicationError):
    """Someone else saved the task after the page being saved was shown: nothing was changed."""


@transaction.atomic
def task_save(
    *,
    task: Task,
    version: int,
    title: str,
    description: str,
    status: str,
    assignee_id: int | None,
    due_date: dt.date | None,
    label_ids: Collection[int],
    acting_user: User,
) -> Task:
    """The task page's save: every field it shows, as the person left them, made from the task at `version`. When
    anyone changed the task since (another page, the API, a move to another column), nothing is written and
    `TaskConflict` says so: someone else's save is never silently overwritten. Saving what is already stored changes
    nothing (the version stays)."""
    acting_access(acting_user).require(ProjectPermission.CHANGE, task.project)
    stored = Task.objects.select_for_update().filter(pk=task.pk).values_list("version", flat=True).first()
    if stored is None:
        raise ProjectInvalid(_("This task was deleted in the meantime."))
    if stored != version:
        raise TaskConflict(
            _(
                "Someone else changed this task while you were editing it. "
                "Reload to see their changes; yours were not saved."
            )
        )
    task.version = stored
    task_update(
        task=task,
        title=title,
        description=description,
        assignee_id=assignee_id,
        due_date=due_date,
        acting_user=acting_user,
    )
    task_labels_set(task=task, label_ids=label_ids, acting_user=acting_user)
    if status != task.status:
        task_move(task=task, status=status, position=BOTTOM, acting_user=acting_user)
    return task


@transaction.atomic
def task_delete(*, task: Task, acting_user: User) -> None:
    acting_access(acting_user).require(ProjectPermission.CHANGE, task.project)
    audit_record(
        tenant=connection,
        action=AuditAction.TASK_DELETED,
        actor=acting_user,
        target=task,
        metadata={"project_id": task.project_id, "title": task.title},
    )
    event_emit(
        tenant=connection,
        type=EventType.TASK_DELETED,
        actor=acting_user,
        data=task_data(task),
        project_id=task.project_id,
    )
    keys = documents_forget(Document.objects.filter(task=task))
    task.delete()
    stored_files_delete_after_commit(keys)
