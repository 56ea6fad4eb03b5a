"""Activity, read from the workspace's event stream (`audit.Event`): who did what to which project, task, comment or
document, and who joined. Permission-filtered in the same query (an event of a project the viewer may not see is
never listed), newest first; a page is two queries (the count and the rows, with each actor joined) however many
events it shows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.urls import reverse

from tenant_apps.audit.models import Event
from tenant_apps.projects.models import Project
from tenant_apps.projects.permissions import Viewer, viewable_filter

# What the feeds show (invitations, billing and test events are for the settings pages, not the feed).
SHOWN = (
    "project.created",
    "project.updated",
    "project.archived",
    "project.deleted",
    "task.created",
    "task.updated",
    "task.moved",
    "task.deleted",
    "comment.created",
    "document.uploaded",
    "document.deleted",
    "member.joined",
)

VERBS = {
    "project.created": "created the project",
    "project.updated": "updated the project",
    "project.archived": "archived the project",
    "project.deleted": "deleted the project",
    "task.created": "added",
    "task.updated": "edited",
    "task.moved": "moved",
    "task.deleted": "deleted",
    "comment.created": "commented on",
    "document.uploaded": "uploaded",
    "document.deleted": "deleted the document",
    "member.joined": "joined the workspace",
}
STATUS = {"todo": "To do", "doing": "Doing", "done": "Done"}


def activity_for(viewer: Viewer, *, project: Project | None = None) -> QuerySet[Event]:
    """Events `viewer` may see: a project's (the caller checked the viewer may see it), or the workspace's."""
    events = Event.objects.filter(type__in=SHOWN).select_related("actor").order_by("-occurred_at", "-id")
    if project is not None:
        return events.filter(project_id=project.pk)
    if not viewer.is_member:
        return events.none()
    if viewer.is_workspace_admin:
        return events
    return events.filter(
        Q(project_id__isnull=True) | Q(project_id__in=Project.objects.filter(viewable_filter(viewer)).values("id"))
    )


@dataclass(frozen=True)
class Line:
    """One event as a feed shows it."""

    event: Event
    actor: str
    verb: str
    object_label: str
    object_url: str
    detail: str


def line_of(event: Event) -> Line:
    data: dict[str, Any] = event.data or {}
    actor = event.actor.get_full_name() if event.actor is not None else (event.actor_label or "Someone")
    label, url, detail = "", "", ""
    kind = event.type.split(".", 1)[0]
    if kind == "task":
        label = str(data.get("title", ""))
        if event.type != "task.deleted" and event.project_id:
            url = reverse("task_detail", args=[event.project_id, data.get("id")])
        if event.type == "task.moved":
            detail = f"to {STATUS.get(str(data.get('status')), data.get('status'))}"
    elif kind == "comment":
        label = "a task"
        if event.project_id and data.get("task"):
            url = reverse("task_detail", args=[event.project_id, data["task"]])
        detail = str(data.get("body", ""))[:140]
    elif kind == "project":
        label = str(data.get("name", ""))
        if event.type != "project.deleted":
            url = reverse("project_board", args=[data.get("id")])
    elif kind == "document":
        label = str(data.get("name", ""))
        if event.project_id and event.type != "document.deleted":
            url = reverse("project_documents", args=[event.project_id])
    return Line(
        event=event,
        actor=actor,
        verb=VERBS.get(event.type, event.type),
        object_label=label,
        object_url=url,
        detail=detail,
    )
