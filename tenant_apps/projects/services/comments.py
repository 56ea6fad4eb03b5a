"""Comments on tasks: write, edit, delete."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shared_apps.accounts.models import User
from tenant_apps.audit.actions import AuditAction
from tenant_apps.audit.events import EventType, event_emit
from tenant_apps.audit.services import audit_record
from tenant_apps.projects.models import Comment, Task
from tenant_apps.projects.permissions import ProjectNotAllowed, ProjectPermission
from tenant_apps.projects.representations import comment_data
from tenant_apps.projects.services.validation import acting_access, clean_text
from tenants.db import connection


@transaction.atomic
def comment_create(*, task: Task, body: str, acting_user: User) -> Comment:
    acting_access(acting_user).require(ProjectPermission.CHANGE, task.project)
    body = clean_text(body, label=_("Comment"), field="body", required=True)
    comment = Comment.objects.create(task=task, author=acting_user, body=body)
    audit_record(
        tenant=connection,
        action=AuditAction.COMMENT_CREATED,
        actor=acting_user,
        target=comment,
        metadata={"project_id": task.project_id, "task_id": task.pk},
    )
    event_emit(
        tenant=connection,
        type=EventType.COMMENT_CREATED,
        actor=acting_user,
        data=comment_data(comment),
        project_id=task.project_id,
    )
    return comment


@transaction.atomic
def comment_edit(*, comment: Comment, body: str, acting_user: User) -> Comment:
    """Authors edit their own comments (while they may still change the project)."""
    acting_access(acting_user).require(ProjectPermission.CHANGE, comment.task.project)
    if comment.author_id != acting_user.pk:
        raise ProjectNotAllowed(_("Only its author can edit a comment."))
    body = clean_text(body, label=_("Comment"), field="body", required=True)
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
    access = acting_access(acting_user)
    project = comment.task.project
    access.require(ProjectPermission.CHANGE, project)
    if comment.author_id != acting_user.pk and not access.can_manage(project):
        raise ProjectNotAllowed(_("Only its author, or someone who manages the project, can delete a comment."))
    audit_record(
        tenant=connection,
        action=AuditAction.COMMENT_DELETED,
        actor=acting_user,
        target=comment,
        metadata={"project_id": project.pk, "task_id": comment.task_id, "author_id": comment.author_id},
    )
    event_emit(
        tenant=connection,
        type=EventType.COMMENT_DELETED,
        actor=acting_user,
        data=comment_data(comment),
        project_id=project.pk,
    )
    comment.delete()
