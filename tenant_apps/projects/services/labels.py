"""Labels: the workspace's own (created, renamed, recoloured and deleted by its owners and admins) and the ones a
task carries (set by anyone who may change the task's project)."""

from __future__ import annotations

from collections.abc import Collection

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shared_apps.accounts.models import User
from tenant_apps.audit.actions import AuditAction
from tenant_apps.audit.events import EventType, event_emit
from tenant_apps.audit.services import audit_record
from tenant_apps.projects.models import LABEL_NAME_MAX_LENGTH, Label, LabelColor, Task
from tenant_apps.projects.permissions import ProjectNotAllowed, ProjectPermission
from tenant_apps.projects.representations import label_data, task_data
from tenant_apps.projects.services.validation import ProjectInvalid, acting_access, clean_line
from tenants.db import connection

# A workspace's labels fit on one settings page and in the board's filter; a task's fit on its card.
LABELS_MAX = 100
TASK_LABELS_MAX = 10


def _require_admin(acting_user: User) -> None:
    if not acting_access(acting_user).viewer.is_workspace_admin:
        raise ProjectNotAllowed(_("Only the workspace's owners and admins manage its labels."))


def _clean(name: str, color: str, *, label: Label | None = None) -> tuple[str, str]:
    name = clean_line(name, label=_("Name"), max_length=LABEL_NAME_MAX_LENGTH, field="name")
    if color not in LabelColor.values:
        raise ProjectInvalid(_("Choose one of the colours."), field="color")
    taken = Label.objects.filter(name__iexact=name)
    if label is not None:
        taken = taken.exclude(pk=label.pk)
    if taken.exists():
        raise ProjectInvalid(_("There is already a label called “%(name)s”.") % {"name": name}, field="name")
    return name, color


def _saved(label: Label) -> Label:
    """Save `label`; two admins racing for one name: the unique index decides, the loser gets the form's error."""
    try:
        with transaction.atomic():
            label.save()
    except IntegrityError as exc:
        raise ProjectInvalid(
            _("There is already a label called “%(name)s”.") % {"name": label.name}, field="name"
        ) from exc
    return label


@transaction.atomic
def label_create(*, name: str, color: str, acting_user: User) -> Label:
    _require_admin(acting_user)
    if Label.objects.count() >= LABELS_MAX:
        raise ProjectInvalid(_("A workspace can have at most %(n)d labels.") % {"n": LABELS_MAX}, field="name")
    name, color = _clean(name, color)
    label = _saved(Label(name=name, color=color, created_by=acting_user))
    audit_record(
        tenant=connection, action=AuditAction.LABEL_CREATED, actor=acting_user, target=label, metadata=label_data(label)
    )
    return label


@transaction.atomic
def label_update(*, label: Label, name: str, color: str, acting_user: User) -> Label:
    _require_admin(acting_user)
    name, color = _clean(name, color, label=label)
    previous = label_data(label)
    if (name, color) == (label.name, label.color):
        return label
    label.name, label.color = name, color
    _saved(label)
    audit_record(
        tenant=connection,
        action=AuditAction.LABEL_UPDATED,
        actor=acting_user,
        target=label,
        metadata={**label_data(label), "previous": previous},
    )
    return label


@transaction.atomic
def label_delete(*, label: Label, acting_user: User) -> None:
    """Delete a label: it comes off every task that carried it (the tasks themselves stay)."""
    _require_admin(acting_user)
    tasks = label.tasks.count()
    audit_record(
        tenant=connection,
        action=AuditAction.LABEL_DELETED,
        actor=acting_user,
        target=label,
        metadata={**label_data(label), "tasks": tasks},
    )
    label.delete()


@transaction.atomic
def task_labels_set(*, task: Task, label_ids: Collection[int], acting_user: User) -> Task:
    """Put exactly `label_ids` on `task` (labels of this workspace; at most ten). A fixed number of queries."""
    acting_access(acting_user).require(ProjectPermission.CHANGE, task.project)
    wanted = set(label_ids)
    if len(wanted) > TASK_LABELS_MAX:
        raise ProjectInvalid(_("A task can carry at most %(n)d labels.") % {"n": TASK_LABELS_MAX}, field="labels")
    labels = list(Label.objects.filter(pk__in=wanted)) if wanted else []
    if len(labels) != len(wanted):
        raise ProjectInvalid(_("Choose labels of this workspace."), field="labels")
    before = sorted(task.labels.values_list("pk", flat=True))
    if before == sorted(wanted):
        return task
    task.labels.set(labels)
    task.updated_at = timezone.now()
    task.version += 1
    Task.objects.filter(pk=task.pk).update(updated_at=task.updated_at, version=task.version)
    audit_record(
        tenant=connection,
        action=AuditAction.TASK_UPDATED,
        actor=acting_user,
        target=task,
        metadata={"project_id": task.project_id, "fields": ["labels"]},
    )
    event_emit(
        tenant=connection,
        type=EventType.TASK_UPDATED,
        actor=acting_user,
        data={**task_data(task), "previous": {"labels": before}},
        project_id=task.project_id,
    )
    return task
