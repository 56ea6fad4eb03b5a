"""A project's board: columns of tasks, adding a task, moving one."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.contrib import messages
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from shared_apps.accounts.http import MemberRequest
from tenant_apps.projects import selectors, services
from tenant_apps.projects.forms import TaskCreateForm
from tenant_apps.projects.models import Project, TaskStatus
from tenant_apps.projects.permissions import ProjectAccess, ProjectPermission
from tenant_apps.projects.selectors import BoardFilter
from tenant_apps.projects.services import ProjectInvalid
from tenant_apps.projects.views.base import BOTTOM, member_view, project_and_access, project_context


def _filter_of(request: MemberRequest) -> BoardFilter:
    """The board's filter: the page's query, or for an HTMX answer the query of the page that asked."""
    if request.method == "GET":
        return BoardFilter.of(request.GET)
    current = urlsplit(request.headers.get("HX-Current-URL", "")).query
    return BoardFilter.of(QueryDict(current))


def _board_context(
    request: MemberRequest, project: Project, access: ProjectAccess, *, moved: int | None = None
) -> dict[str, object]:
    board_filter = _filter_of(request)
    columns = selectors.board_columns(project, board_filter, viewer_id=request.user.pk)
    statuses = list(TaskStatus)
    board = []
    for index, status in enumerate(statuses):
        tasks = columns[status.value]
        cards = []
        for position, task in enumerate(tasks):
            moves = []
            if index > 0:
                moves.append(
                    (
                        "left",
                        statuses[index - 1],
                        BOTTOM,
                        _("Move to %(column)s") % {"column": statuses[index - 1].label},
                    )
                )
            if position > 0 and not board_filter.active:  # a filtered column's places are not the column's
                moves.append(("up", status, position - 1, _("Move up")))
            if position < len(tasks) - 1 and not board_filter.active:
                moves.append(("down", status, position + 1, _("Move down")))
            if index < len(statuses) - 1:
                moves.append(
                    (
                        "right",
                        statuses[index + 1],
                        BOTTOM,
                        _("Move to %(column)s") % {"column": statuses[index + 1].label},
                    )
                )
            cards.append({"task": task, "moves": moves})
        board.append({"status": status, "cards": cards})
    assignees = {t.assignee_id: t.assignee for c in columns.values() for t in c if t.assignee is not None}
    return project_context(
        project,
        access,
        "board",
        board=board,
        task_count=sum(len(c) for c in columns.values()),
        moved=moved,
        board_filter=board_filter,
        filter_assignees=sorted(assignees.values(), key=lambda u: u.get_full_name().lower()),
        filter_dues=BoardFilter.DUES,
        filter_labels=list(selectors.label_list()),
    )


@member_view
def project_board(request: MemberRequest, project_id: int) -> HttpResponse:
    project, access = project_and_access(request, project_id)
    context = _board_context(request, project, access)
    context["task_form"] = TaskCreateForm()
    return render(request, "tenant/projects/board.html", context)


@member_view
@require_POST
def task_create(request: MemberRequest, project_id: int) -> HttpResponse:
    project, access = project_and_access(request, project_id)
    access.require(ProjectPermission.CHANGE, project)
    form = TaskCreateForm(request.POST)
    if form.is_valid():
        try:
            task = services.task_create(
                project=project,
                title=form.cleaned_data["title"],
                status=form.cleaned_data["status"],
                acting_user=request.user,
            )
        except ProjectInvalid as exc:
            form.add_service_error(exc)
        else:
            if request.htmx:  # type: ignore[attr-defined]
                context = _board_context(request, project, access, moved=task.pk)
                context["task_form"] = TaskCreateForm()
                context["announce"] = f"Added “{task.title}” to {task.get_status_display()}."
                context["focus_new"] = True
                return render(request, "tenant/projects/_board.html", context)
            messages.success(request, _("Added “%(title)s”.") % {"title": task.title})
            return redirect("project_board", project_id=project.pk)
    context = _board_context(request, project, access)
    context["task_form"] = form
    context["focus_new"] = True
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "tenant/projects/_board.html", context)  # htmx swaps 2xx only: the errors show in place
    return render(request, "tenant/projects/board.html", context, status=400)


def _position(data: QueryDict) -> int:
    raw = data.get("position", "")
    if not raw.isdigit() or len(raw) > 9:
        raise ProjectInvalid(_("Say where the task goes."), field="position")
    return int(raw)


@member_view
@require_POST
def task_move(request: MemberRequest, project_id: int, task_id: int) -> HttpResponse:
    """Drag-and-drop and the keyboard's move buttons both post here: the column and the place in it."""
    project, access = project_and_access(request, project_id)
    task = selectors.task_get(project, task_id)
    try:
        moved = services.task_move(
            task=task, status=request.POST.get("status", ""), position=_position(request.POST), acting_user=request.user
        )
    except ProjectInvalid as exc:
        if request.htmx:  # type: ignore[attr-defined]
            return HttpResponse(exc.message, status=400)
        messages.error(request, exc.message)
        return redirect("project_board", project_id=project.pk)
    if request.htmx:  # type: ignore[attr-defined]
        context = _board_context(request, project, access, moved=moved.pk)
        context["task_form"] = TaskCreateForm()
        context["announce"] = f"Moved “{moved.title}” to {moved.get_status_display()}, position {moved.position + 1}."
        return render(request, "tenant/projects/_board.html", context)
    return redirect(reverse("project_board", kwargs={"project_id": project.pk}) + f"#task-{moved.pk}")
