"""Activity, read from the workspace's event stream (`audit.Event`): who did what to which project, task, comment or
document, and who joined. Permission-filtered in the same query (an event of a project the viewer may not see is
never listed), newest first; a page is two queries (the count and the rows, with each actor joined) however many
events it shows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tenant_apps.audit.events import SYSTEM_ACTOR
from tenant_apps.audit.models import Event
from tenant_apps.projects.models import Project, TaskStatus
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

# Each kind of line as one sentence, so a translation can put the words in its own order. %(actor)s is the person
# (bold), %(object)s the task, project or document (a link while it exists), %(column)s where a task went.
SENTENCES = {
    "project.created": gettext_lazy("%(actor)s created the project %(object)s"),
    "project.updated": gettext_lazy("%(actor)s updated the project %(object)s"),
    "project.archived": gettext_lazy("%(actor)s archived the project %(object)s"),
    "project.deleted": gettext_lazy("%(actor)s deleted the project %(object)s"),
    "task.created": gettext_lazy("%(actor)s added %(object)s"),
    "task.updated": gettext_lazy("%(actor)s edited %(object)s"),
    "task.moved": gettext_lazy("%(actor)s moved %(object)s to %(column)s"),
    "task.deleted": gettext_lazy("%(actor)s deleted %(object)s"),
    "comment.created": gettext_lazy("%(actor)s commented on %(object)s"),
    "document.uploaded": gettext_lazy("%(actor)s uploaded %(object)s"),
    "document.deleted": gettext_lazy("%(actor)s deleted the document %(object)s"),
    "member.joined": gettext_lazy("%(actor)s joined the workspace"),
}


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
    object_label: str
    object_url: str
    detail: str

    @property
    def sentence(self) -> SafeString:
        """The line's sentence in the reader's language, its parts escaped: the actor bold, the object a link."""
        if self.object_url:
            shown = format_html('<a href="{}">{}</a>', self.object_url, self.object_label)
        else:
            shown = format_html("“{}”", self.object_label) if self.object_label else mark_safe("")
        column = ""
        if self.event.type == "task.moved":
            status = str(self.detail)
            column = format_html("{}", TaskStatus(status).label if status in TaskStatus.values else status)
        template = SENTENCES.get(self.event.type)
        if template is None:
            return format_html("<strong>{}</strong> {}", self.actor, self.event.type)
        parts = {"actor": format_html("<strong>{}</strong>", self.actor), "object": shown, "column": column}
        return mark_safe(str(template) % parts)  # noqa: S308 (every part is escaped above; the template is ours)


def line_of(event: Event) -> Line:
    data: dict[str, Any] = event.data or {}
    if event.actor is not None:
        actor = event.actor.get_full_name()
    elif event.actor_label == SYSTEM_ACTOR:  # done by Atrium itself (a task, the welcome project)
        actor = _("Atrium")
    else:
        actor = event.actor_label or _("Someone")
    label, url, detail = "", "", ""
    kind = event.type.split(".", 1)[0]
    if kind == "task":
        label = str(data.get("title", ""))
        if event.type != "task.deleted" and event.project_id:
            url = reverse("task_detail", args=[event.project_id, data.get("id")])
        if event.type == "task.moved":
            detail = str(data.get("status", ""))
    elif kind == "comment":
        label = _("a task")
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
        object_label=label,
        object_url=url,
        detail=detail,
    )
