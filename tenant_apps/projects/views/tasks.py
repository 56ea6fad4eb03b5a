"""A task's page: details, comments, deletion."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from shared_apps.accounts.http import MemberRequest
from tenant_apps.projects import selectors, services
from tenant_apps.projects.forms import CommentForm, TaskForm
from tenant_apps.projects.models import Project, Task
from tenant_apps.projects.permissions import ProjectNotAllowed, ProjectPermission
from tenant_apps.projects.services import ProjectInvalid, TaskConflict
from tenant_apps.projects.views.base import can_flags, member_view, project_and_access, project_context
from tenant_apps.projects.views.documents import attachments_context


def _task_initial(task: Task) -> dict[str, object]:
    return {
        "title": task.title,
        "description": task.description,
        "status": task.status,
        "assignee": task.assignee_id,
        "due_date": task.due_date,
        "labels": [label.pk for label in task.labels.all()],
        "version": task.version,
    }


def _assignees(project: Project, request: MemberRequest) -> list[tuple[int, str]]:
    members = selectors.assignable_members(project, tenant_id=request.route.tenant_id)
    return [(m.membership.user_id, m.membership.user.get_full_name()) for m in members]


def _task_form(request: MemberRequest, project: Project, task: Task, data: QueryDict | None = None) -> TaskForm:
    return TaskForm(
        data,
        initial=_task_initial(task),
        assignees=_assignees(project, request),
        labels=list(selectors.label_list()),
    )


def _save(request: MemberRequest, task: Task, form: TaskForm) -> str:
    """Save the form onto `task`: "saved", "conflict" (someone else saved first) or "invalid" (errors on the form)."""
    if not form.is_valid():
        return "invalid"
    data = form.cleaned_data
    try:
        services.task_save(
            task=task,
            version=data["version"],
            title=data["title"],
            description=data["description"],
            status=data["status"],
            assignee_id=data["assignee"],
            due_date=data["due_date"],
            label_ids=data["labels"],
            acting_user=request.user,
        )
    except TaskConflict as exc:
        form.add_error(None, exc.message)
        return "conflict"
    except ProjectInvalid as exc:
        form.add_service_error(exc)
        return "invalid"
    return "saved"


def _autosave_answer(request: MemberRequest, task: Task, form: TaskForm, outcome: str) -> HttpResponse:
    """What the page's save-as-you-edit hears: the indicator's words and, once saved, the task's new version (HTMX
    swaps 2xx answers only, so a refusal is a 200 whose words say so)."""
    errors = [str(e) for errors in form.errors.values() for e in errors]
    context = {"outcome": outcome, "errors": errors, "task": task}
    return render(request, "tenant/projects/_task_save_status.html", context)


@member_view
@require_http_methods(["GET", "POST"])
def task_detail(request: MemberRequest, project_id: int, task_id: int) -> HttpResponse:
    project, access = project_and_access(request, project_id)
    task = selectors.task_get(project, task_id)
    can = can_flags(access, project)
    form = None
    status = 200
    if can["change"] or request.method == "POST":
        form = _task_form(request, project, task, request.POST if request.method == "POST" else None)
    if request.method == "POST":
        access.require(ProjectPermission.CHANGE, project)
        assert form is not None  # noqa: S101
        outcome = _save(request, task, form)
        if request.htmx:  # type: ignore[attr-defined]
            return _autosave_answer(request, task, form, outcome)
        if outcome == "saved":
            messages.success(request, _("Task saved."))
            return redirect("task_detail", project_id=project.pk, task_id=task.pk)
        status = 409 if outcome == "conflict" else 400
    context = project_context(
        project,
        access,
        "board",
        task=task,
        form=form,
        comments=list(selectors.comment_list(task)),
        comment_form=CommentForm() if can["change"] else None,
        **attachments_context(request, project, task, can_change=can["change"]),
    )
    return render(request, "tenant/projects/task.html", context, status=status)


@member_view
@require_POST
def comment_create(request: MemberRequest, project_id: int, task_id: int) -> HttpResponse:
    project, access = project_and_access(request, project_id)
    task = selectors.task_get(project, task_id)
    access.require(ProjectPermission.CHANGE, project)
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            comment = services.comment_create(task=task, body=form.cleaned_data["body"], acting_user=request.user)
        except ProjectInvalid as exc:
            form.add_service_error(exc)
        else:
            url = reverse("task_detail", kwargs={"project_id": project.pk, "task_id": task.pk})
            return redirect(f"{url}#comment-{comment.pk}")
    context = project_context(
        project,
        access,
        "board",
        task=task,
        form=_task_form(request, project, task),
        comments=list(selectors.comment_list(task)),
        comment_form=form,
        **attachments_context(request, project, task, can_change=True),
    )
    return render(request, "tenant/projects/task.html", context, status=400)


@member_view
@require_http_methods(["GET", "POST"])
def comment_edit(request: MemberRequest, project_id: int, task_id: int, comment_id: int) -> HttpResponse:
    project, access = project_and_access(request, project_id)
    task = selectors.task_get(project, task_id)
    comment = selectors.comment_get(task, comment_id)
    access.require(ProjectPermission.CHANGE, project)
    if comment.author_id != request.user.pk:
        raise ProjectNotAllowed(_("Only its author can edit a comment."))
    form = CommentForm(request.POST or None, initial={"body": comment.body})
    if request.method == "POST" and form.is_valid():
        try:
            services.comment_edit(comment=comment, body=form.cleaned_data["body"], acting_user=request.user)
        except ProjectInvalid as exc:
            form.add_service_error(exc)
        else:
            url = reverse("task_detail", kwargs={"project_id": project.pk, "task_id": task.pk})
            return redirect(f"{url}#comment-{comment.pk}")
    context = project_context(project, access, "board", task=task, comment=comment, form=form)
    return render(request, "tenant/projects/comment_edit.html", context)


@member_view
@require_http_methods(["GET", "POST"])
def task_delete(request: MemberRequest, project_id: int, task_id: int) -> HttpResponse:
    project, access = project_and_access(request, project_id)
    task = selectors.task_get(project, task_id)
    access.require(ProjectPermission.CHANGE, project)
    if request.method == "POST":
        services.task_delete(task=task, acting_user=request.user)
        messages.success(request, _("“%(title)s” was deleted.") % {"title": task.title})
        return redirect("project_board", project_id=project.pk)
    comments = selectors.comment_list(task).count()
    context = project_context(project, access, "board", task=task, comments=comments)
    return render(request, "tenant/projects/task_delete.html", context)
