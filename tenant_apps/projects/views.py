"""The product's pages on a workspace host: home, projects, the board, tasks with comments, sharing.

Thin: each view parses input, asks a selector (reads, permission-aware) or a service (writes, which check the
permission again), and renders. What the viewer may do on a page is read once from `ProjectAccess` (one query for
every object shown); a project the viewer may not see is "not found", one they may see but not change "not allowed".
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from billing.entitlements import LimitReached
from shared_apps.accounts.http import MemberRequest
from shared_apps.core.text import without_nul
from shared_apps.storage.backends import TenantStorage, files
from shared_apps.storage.inspection import ALLOWED, accept_attribute, allowed_summary, human_size
from tenant_apps.projects import selectors, services
from tenant_apps.projects.forms import (
    SEARCH_MAX_LENGTH,
    CommentForm,
    DirectUploadForm,
    DocumentDeleteForm,
    DocumentUploadForm,
    ProjectDeleteForm,
    ProjectForm,
    TaskCreateForm,
    TaskForm,
    VisibilityForm,
)
from tenant_apps.projects.models import Document, Project, Task, TaskStatus, Visibility
from tenant_apps.projects.permissions import (
    AccessLevel,
    ProjectAccess,
    ProjectNotAllowed,
    ProjectNotFound,
    ProjectPermission,
    Viewer,
    level_of,
)
from tenant_apps.projects.selectors import ProjectShow
from tenant_apps.projects.services import DocumentRefused, ProjectInvalid

PROJECTS_PER_PAGE = 50
HOME_PROJECTS = 6
# A position past the end of any column: "to the bottom".
BOTTOM = 1_000_000

View = Callable[..., HttpResponseBase]


def member_view(view: View) -> View:
    """Signed in (else the sign-in page) as a member of this workspace (the membership middleware answers 403 to
    everyone else); product errors become pages: not found → 404, not allowed → 403 saying why."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if getattr(request, "membership", None) is None:
            raise Http404
        try:
            return view(request, *args, **kwargs)
        except ProjectNotFound as exc:
            raise Http404(exc.message) from exc
        except ProjectNotAllowed as exc:
            return render(request, "tenant/projects/forbidden.html", {"reason": exc.message}, status=403)

    return wrapped


def _viewer(request: MemberRequest) -> Viewer:
    return Viewer.of_membership(request.membership, request.user)


def _project(request: MemberRequest, project_id: int) -> tuple[Project, ProjectAccess]:
    access = ProjectAccess(_viewer(request))
    return selectors.project_get_for_user(access.viewer, project_id, access), access


def _can(access: ProjectAccess, project: Project) -> dict[str, bool]:
    return {
        "change": access.can(ProjectPermission.CHANGE, project),
        "manage": access.can(ProjectPermission.MANAGE, project),
    }


def _project_context(project: Project, access: ProjectAccess, tab: str, **extra: object) -> dict[str, object]:
    """What every page of a project shows around its content: the name, badges, the viewer's access, the tabs."""
    return {
        "project": project,
        "can": _can(access, project),
        "access_level": access.level(project),
        "tab": tab,
        **extra,
    }


# --- home and the list -------------------------------------------------------------------------------------------


@member_view
def home(request: MemberRequest) -> HttpResponse:
    """The workspace's front door: the projects the person can open and the tasks waiting for them."""
    viewer = _viewer(request)
    projects = selectors.project_page_for_user(viewer, limit=HOME_PROJECTS + 1)
    access = ProjectAccess(viewer).prefetch(projects)
    context = {
        "projects": [(p, access.level(p)) for p in projects[:HOME_PROJECTS]],
        "more_projects": len(projects) > HOME_PROJECTS,
        "assigned": selectors.tasks_assigned_to(viewer),
    }
    return render(request, "tenant/home.html", context)


def _search(request: HttpRequest) -> str:
    return without_nul(request.GET.get("q", ""))[:SEARCH_MAX_LENGTH].strip()


@member_view
def project_list(request: MemberRequest) -> HttpResponse:
    viewer = _viewer(request)
    query = _search(request)
    show = request.GET.get("show", ProjectShow.ACTIVE)
    show = show if show in {s.value for s in ProjectShow} else ProjectShow.ACTIVE
    visibility = request.GET.get("visibility", "")
    visibility = visibility if visibility in Visibility.values else ""
    projects = selectors.ProjectListing(viewer, search=query, show=show, visibility=visibility)
    page: Page[Project] = Paginator(projects, PROJECTS_PER_PAGE).get_page(request.GET.get("page"))
    access = ProjectAccess(viewer).prefetch(page.object_list)
    context = {
        "page": page,
        "rows": [(p, access.level(p)) for p in page.object_list],
        "query": query,
        "show": show,
        "visibility": visibility,
        "filtered": bool(query or visibility),
        "shows": [(ProjectShow.ACTIVE, "Active"), (ProjectShow.ARCHIVED, "Archived"), (ProjectShow.ALL, "All")],
        "visibilities": Visibility.choices,
    }
    return render(request, "tenant/projects/list.html", context)


@member_view
@require_http_methods(["GET", "POST"])
def project_create(request: MemberRequest) -> HttpResponse:
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            project = services.project_create(
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                visibility=form.cleaned_data["visibility"],
                acting_user=request.user,
            )
        except ProjectInvalid as exc:
            form.add_service_error(exc)
        except LimitReached as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"“{project.name}” is ready. Add its first tasks.")
            return redirect("project_board", project_id=project.pk)
    context = {"form": form, "creating": True, "base_template": "tenant/base_tenant.html"}
    return render(request, "tenant/projects/form.html", context)


@member_view
@require_http_methods(["GET", "POST"])
def project_edit(request: MemberRequest, project_id: int) -> HttpResponse:
    project, access = _project(request, project_id)
    access.require(ProjectPermission.CHANGE, project)
    initial = {"name": project.name, "description": project.description}
    form = ProjectForm(request.POST or None, initial=initial, with_visibility=False)
    if request.method == "POST" and form.is_valid():
        try:
            services.project_update(
                project=project,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                acting_user=request.user,
            )
        except ProjectInvalid as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, "Project details saved.")
            return redirect("project_board", project_id=project.pk)
    context = _project_context(
        project, access, "settings", form=form, creating=False, base_template="tenant/projects/base_project.html"
    )
    return render(request, "tenant/projects/form.html", context)


@member_view
@require_POST
def project_archive(request: MemberRequest, project_id: int) -> HttpResponse:
    project, _access = _project(request, project_id)
    services.project_archive(project=project, acting_user=request.user)
    messages.success(request, f"“{project.name}” is archived: read-only, and hidden from the active list.")
    return redirect("project_board", project_id=project.pk)


@member_view
@require_POST
def project_restore(request: MemberRequest, project_id: int) -> HttpResponse:
    project, _access = _project(request, project_id)
    services.project_restore(project=project, acting_user=request.user)
    messages.success(request, f"“{project.name}” is active again.")
    return redirect("project_board", project_id=project.pk)


@member_view
@require_http_methods(["GET", "POST"])
def project_delete(request: MemberRequest, project_id: int) -> HttpResponse:
    project, access = _project(request, project_id)
    access.require(ProjectPermission.MANAGE, project)
    form = ProjectDeleteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.project_delete(
                project=project, confirm_name=form.cleaned_data["confirm_name"], acting_user=request.user
            )
        except ProjectInvalid as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, f"“{project.name}” and its tasks were deleted.")
            return redirect("project_list")
    tasks, comments = selectors.project_size(project)
    context = _project_context(project, access, "settings", form=form, task_count=tasks, comment_count=comments)
    return render(request, "tenant/projects/delete.html", context)


# --- the board ---------------------------------------------------------------------------------------------------


def _board_context(project: Project, access: ProjectAccess, *, moved: int | None = None) -> dict[str, object]:
    columns = selectors.board_columns(project)
    statuses = list(TaskStatus)
    board = []
    for index, status in enumerate(statuses):
        tasks = columns[status.value]
        cards = []
        for position, task in enumerate(tasks):
            moves = []
            if index > 0:
                moves.append(("left", statuses[index - 1], BOTTOM, f"Move to {statuses[index - 1].label}"))
            if position > 0:
                moves.append(("up", status, position - 1, "Move up"))
            if position < len(tasks) - 1:
                moves.append(("down", status, position + 1, "Move down"))
            if index < len(statuses) - 1:
                moves.append(("right", statuses[index + 1], BOTTOM, f"Move to {statuses[index + 1].label}"))
            cards.append({"task": task, "moves": moves})
        board.append({"status": status, "cards": cards})
    return _project_context(
        project, access, "board", board=board, task_count=sum(len(c) for c in columns.values()), moved=moved
    )


@member_view
def project_board(request: MemberRequest, project_id: int) -> HttpResponse:
    project, access = _project(request, project_id)
    context = _board_context(project, access)
    context["task_form"] = TaskCreateForm()
    return render(request, "tenant/projects/board.html", context)


@member_view
@require_POST
def task_create(request: MemberRequest, project_id: int) -> HttpResponse:
    project, access = _project(request, project_id)
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
                context = _board_context(project, access, moved=task.pk)
                context["task_form"] = TaskCreateForm()
                context["announce"] = f"Added “{task.title}” to {task.get_status_display()}."
                context["focus_new"] = True
                return render(request, "tenant/projects/_board.html", context)
            messages.success(request, f"Added “{task.title}”.")
            return redirect("project_board", project_id=project.pk)
    context = _board_context(project, access)
    context["task_form"] = form
    context["focus_new"] = True
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "tenant/projects/_board.html", context)  # htmx swaps 2xx only: the errors show in place
    return render(request, "tenant/projects/board.html", context, status=400)


def _position(data: QueryDict) -> int:
    raw = data.get("position", "")
    if not raw.isdigit() or len(raw) > 9:
        raise ProjectInvalid("Say where the task goes.", field="position")
    return int(raw)


@member_view
@require_POST
def task_move(request: MemberRequest, project_id: int, task_id: int) -> HttpResponse:
    """Drag-and-drop and the keyboard's move buttons both post here: the column and the place in it."""
    project, access = _project(request, project_id)
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
        context = _board_context(project, access, moved=moved.pk)
        context["task_form"] = TaskCreateForm()
        context["announce"] = f"Moved “{moved.title}” to {moved.get_status_display()}, position {moved.position + 1}."
        return render(request, "tenant/projects/_board.html", context)
    return redirect(reverse("project_board", kwargs={"project_id": project.pk}) + f"#task-{moved.pk}")


# --- a task ------------------------------------------------------------------------------------------------------


def _task_initial(task: Task) -> dict[str, object]:
    return {
        "title": task.title,
        "description": task.description,
        "status": task.status,
        "assignee": task.assignee_id,
        "due_date": task.due_date,
    }


def _assignees(project: Project, request: MemberRequest) -> list[tuple[int, str]]:
    members = selectors.assignable_members(project, tenant_id=request.route.tenant_id)
    return [(m.membership.user_id, m.membership.user.get_full_name()) for m in members]


@member_view
@require_http_methods(["GET", "POST"])
def task_detail(request: MemberRequest, project_id: int, task_id: int) -> HttpResponse:
    project, access = _project(request, project_id)
    task = selectors.task_get(project, task_id)
    can = _can(access, project)
    form = None
    if can["change"] or request.method == "POST":
        form = TaskForm(request.POST or None, initial=_task_initial(task), assignees=_assignees(project, request))
    if request.method == "POST":
        access.require(ProjectPermission.CHANGE, project)
        assert form is not None  # noqa: S101
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.task_update(
                    task=task,
                    title=data["title"],
                    description=data["description"],
                    assignee_id=data["assignee"],
                    due_date=data["due_date"],
                    acting_user=request.user,
                )
                if data["status"] != task.status:
                    services.task_move(task=task, status=data["status"], position=BOTTOM, acting_user=request.user)
            except ProjectInvalid as exc:
                form.add_service_error(exc)
            else:
                messages.success(request, "Task saved.")
                return redirect("task_detail", project_id=project.pk, task_id=task.pk)
    context = _project_context(
        project,
        access,
        "board",
        task=task,
        form=form,
        comments=list(selectors.comment_list(task)),
        comment_form=CommentForm() if can["change"] else None,
        **_attachments_context(request, project, task, can_change=can["change"]),
    )
    return render(request, "tenant/projects/task.html", context, status=400 if form and form.errors else 200)


@member_view
@require_POST
def comment_create(request: MemberRequest, project_id: int, task_id: int) -> HttpResponse:
    project, access = _project(request, project_id)
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
    context = _project_context(
        project,
        access,
        "board",
        task=task,
        form=TaskForm(initial=_task_initial(task), assignees=_assignees(project, request)),
        comments=list(selectors.comment_list(task)),
        comment_form=form,
        **_attachments_context(request, project, task, can_change=True),
    )
    return render(request, "tenant/projects/task.html", context, status=400)


@member_view
@require_http_methods(["GET", "POST"])
def comment_edit(request: MemberRequest, project_id: int, task_id: int, comment_id: int) -> HttpResponse:
    project, access = _project(request, project_id)
    task = selectors.task_get(project, task_id)
    comment = selectors.comment_get(task, comment_id)
    access.require(ProjectPermission.CHANGE, project)
    if comment.author_id != request.user.pk:
        raise ProjectNotAllowed("Only its author can edit a comment.")
    form = CommentForm(request.POST or None, initial={"body": comment.body})
    if request.method == "POST" and form.is_valid():
        try:
            services.comment_edit(comment=comment, body=form.cleaned_data["body"], acting_user=request.user)
        except ProjectInvalid as exc:
            form.add_service_error(exc)
        else:
            url = reverse("task_detail", kwargs={"project_id": project.pk, "task_id": task.pk})
            return redirect(f"{url}#comment-{comment.pk}")
    context = _project_context(project, access, "board", task=task, comment=comment, form=form)
    return render(request, "tenant/projects/comment_edit.html", context)


@member_view
@require_http_methods(["GET", "POST"])
def task_delete(request: MemberRequest, project_id: int, task_id: int) -> HttpResponse:
    project, access = _project(request, project_id)
    task = selectors.task_get(project, task_id)
    access.require(ProjectPermission.CHANGE, project)
    if request.method == "POST":
        services.task_delete(task=task, acting_user=request.user)
        messages.success(request, f"“{task.title}” was deleted.")
        return redirect("project_board", project_id=project.pk)
    comments = selectors.comment_list(task).count()
    context = _project_context(project, access, "board", task=task, comments=comments)
    return render(request, "tenant/projects/task_delete.html", context)


# --- sharing -----------------------------------------------------------------------------------------------------


def _levels_from(data: QueryDict, member_ids: set[int]) -> dict[int, AccessLevel | None]:
    """The sharing form's `level-<user id>` fields, for the people the page listed; anything else is refused."""
    levels: dict[int, AccessLevel | None] = {}
    for key in data:
        if not key.startswith("level-"):
            continue
        value = data.get(key, "")
        raw_id = key.removeprefix("level-")
        if not raw_id.isdigit() or len(raw_id) > 18 or int(raw_id) not in member_ids:
            raise ProjectInvalid("That person is not a member of this workspace any more. Reload the page.")
        if value and value not in {level.value for level in AccessLevel}:
            raise ProjectInvalid("Choose one of the access levels.")
        levels[int(raw_id)] = AccessLevel(value) if value else None
    return levels


@member_view
@require_http_methods(["GET", "POST"])
def project_sharing(request: MemberRequest, project_id: int) -> HttpResponse:
    project, access = _project(request, project_id)
    access.require(ProjectPermission.MANAGE, project)
    members = selectors.project_members(project, tenant_id=request.route.tenant_id)
    me = request.user.pk
    editable = {m.membership.user_id for m in members if not m.is_workspace_admin and m.membership.user_id != me}
    if request.method == "POST":
        try:
            levels = _levels_from(request.POST, editable)
            current = {m.membership.user_id: level_of(m.granted) for m in members}
            changes = {uid: level for uid, level in levels.items() if current.get(uid) != level}
            result = services.project_share(project=project, levels=changes, acting_user=request.user)
        except ProjectInvalid as exc:
            messages.error(request, exc.message)
        else:
            if result.changed:
                parts = []
                if result.granted:
                    parts.append(f"updated access for {len(result.granted)} {_people(len(result.granted))}")
                if result.revoked:
                    parts.append(f"removed access for {len(result.revoked)} {_people(len(result.revoked))}")
                messages.success(request, " and ".join(parts).capitalize() + ".")
            else:
                messages.info(request, "Nothing changed.")
        return redirect("project_sharing", project_id=project.pk)
    rows = [
        {
            "member": m,
            "level": level_of(m.granted),
            "is_me": m.membership.user_id == me,
            "editable": m.membership.user_id in editable,
        }
        for m in members
    ]
    context = _project_context(
        project,
        access,
        "sharing",
        rows=rows,
        levels=[(level.value, level.label) for level in AccessLevel],
        visibility_form=VisibilityForm(initial={"visibility": project.visibility}),
        editable_count=len(editable),
    )
    return render(request, "tenant/projects/sharing.html", context)


def _people(count: int) -> str:
    return "person" if count == 1 else "people"


@member_view
@require_POST
def project_visibility(request: MemberRequest, project_id: int) -> HttpResponse:
    project, _access = _project(request, project_id)
    form = VisibilityForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose who can see the project.")
        return redirect("project_sharing", project_id=project.pk)
    services.project_visibility_set(
        project=project, visibility=form.cleaned_data["visibility"], acting_user=request.user
    )
    if project.visibility == Visibility.PRIVATE:
        messages.success(request, f"“{project.name}” is private: only the people below can see it.")
    else:
        messages.success(request, f"Everyone in the workspace can now see “{project.name}”.")
    return redirect("project_sharing", project_id=project.pk)


# --- documents -----------------------------------------------------------------------------------------------------
#
# Downloads are a permission check and a redirect to a URL signed for seconds; a page shows thumbnails by signing
# their stored keys (no network call, nothing generated on read). Uploads: the plain form goes through the app; with
# JavaScript the browser sends the bytes straight to storage (a signed form that pins the key and the size), with a
# progress bar, and the app confirms what arrived before anyone sees it.

DOCUMENTS_PER_PAGE = 50


def _document_row(document: Document, storage: TenantStorage, schema_name: str) -> dict[str, object]:
    file_type = ALLOWED.get(document.file_type)
    thumbnail = selectors.document_thumbnail_url(document, schema_name=schema_name, storage=storage)
    return {
        "document": document,
        "type_label": file_type.label if file_type else document.file_type,
        "size": human_size(document.size),
        "thumbnail_url": thumbnail,
        "opens_inline": bool(file_type and file_type.inline),
    }


def _upload_context(
    project: Project, *, task: Task | None, form: DocumentUploadForm | None = None
) -> dict[str, object]:
    return {
        "upload_form": form or DocumentUploadForm(initial={"task": task.pk if task else None}),
        "upload_accept": accept_attribute(),
        "upload_help": f"Up to {human_size(int(settings.STORAGE_UPLOAD_MAX_BYTES))}: {allowed_summary()}.",
        "upload_task": task,
    }


def _attachments_context(
    request: MemberRequest, project: Project, task: Task, *, can_change: bool
) -> dict[str, object]:
    storage, schema = files(), request.route.schema_name
    context: dict[str, object] = {
        "attachments": [_document_row(d, storage, schema) for d in selectors.document_list(project, task=task)]
    }
    if can_change:
        context.update(_upload_context(project, task=task))
    return context


@member_view
def project_documents(request: MemberRequest, project_id: int) -> HttpResponse:
    project, access = _project(request, project_id)
    return _documents_page(request, project, access)


def _documents_page(
    request: MemberRequest, project: Project, access: ProjectAccess, form: DocumentUploadForm | None = None
) -> HttpResponse:
    page = Paginator(selectors.document_list(project), DOCUMENTS_PER_PAGE).get_page(request.GET.get("page"))
    storage, schema = files(), request.route.schema_name
    can = _can(access, project)
    context = _project_context(
        project, access, "documents", page=page, rows=[_document_row(d, storage, schema) for d in page.object_list]
    )
    if can["change"]:
        context.update(_upload_context(project, task=None, form=form))
    return render(request, "tenant/projects/documents.html", context, status=400 if form and form.errors else 200)


def _task_for_upload(project: Project, task_id: int | None) -> Task | None:
    return selectors.task_get(project, task_id) if task_id else None


def _after_upload(project: Project, task: Task | None) -> str:
    if task is not None:
        return reverse("task_detail", kwargs={"project_id": project.pk, "task_id": task.pk}) + "#attachments"
    return reverse("project_documents", kwargs={"project_id": project.pk})


@member_view
@require_POST
def document_upload(request: MemberRequest, project_id: int) -> HttpResponse:
    """The plain form: the file comes through the app and is checked before anything is stored."""
    project, access = _project(request, project_id)
    access.require(ProjectPermission.CHANGE, project)
    raw_task = request.POST.get("task", "")
    task = _task_for_upload(project, int(raw_task)) if raw_task.isdigit() and len(raw_task) < 19 else None
    form = DocumentUploadForm(request.POST, request.FILES, task_ids=[task.pk] if task else [])
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            document = services.document_upload(
                project=project,
                task=task,
                content=upload,
                size=upload.size or 0,
                name=upload.name or "file",
                acting_user=request.user,
            )
        except (DocumentRefused, LimitReached) as exc:
            form.add_error("file", exc.message)
        except ProjectInvalid as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, f"Uploaded “{document.name}”.")
            return redirect(_after_upload(project, task))
    if task is not None:
        for error in form.errors.get("file", []) or form.non_field_errors():
            messages.error(request, str(error))
        return redirect(_after_upload(project, task))
    return _documents_page(request, project, access, form=form)


def _json_error(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@member_view
@require_POST
def document_upload_start(request: MemberRequest, project_id: int) -> HttpResponse:
    """The page's script asks to send a file straight to storage: quota checked and bytes reserved, then the signed
    form (URL and fields) it POSTs the file with."""
    project, access = _project(request, project_id)
    access.require(ProjectPermission.CHANGE, project)
    form = DirectUploadForm(request.POST)
    if not form.is_valid():
        return _json_error("Choose a file to upload.")
    task = _task_for_upload(project, form.cleaned_data["task"])
    try:
        started = services.document_upload_start(
            project=project,
            task=task,
            name=without_nul(form.cleaned_data["name"]),
            size=form.cleaned_data["size"],
            acting_user=request.user,
        )
    except (DocumentRefused, LimitReached) as exc:
        return _json_error(exc.message)
    document = started.document
    kwargs = {"project_id": project.pk, "document_id": document.pk}
    return JsonResponse(
        {
            "url": started.form.url,
            "fields": started.form.fields,
            "confirm": reverse("document_upload_confirm", kwargs=kwargs),
            "cancel": reverse("document_upload_cancel", kwargs=kwargs),
        },
        status=201,
    )


@member_view
@require_POST
def document_upload_confirm(request: MemberRequest, project_id: int, document_id: int) -> HttpResponse:
    """The bytes have arrived in storage: check them (size, type) and make the document visible, or refuse it."""
    project, _access = _project(request, project_id)
    document = selectors.document_get(project, document_id, pending=True)
    try:
        confirmed = services.document_upload_confirm(document=document, acting_user=request.user)
    except DocumentRefused as exc:
        return _json_error(exc.message)
    messages.success(request, f"Uploaded “{confirmed.name}”.")
    return JsonResponse({"name": confirmed.name, "location": _after_upload(project, confirmed.task)})


@member_view
@require_POST
def document_upload_cancel(request: MemberRequest, project_id: int, document_id: int) -> HttpResponse:
    project, _access = _project(request, project_id)
    document = selectors.document_get(project, document_id, pending=True)
    services.document_upload_cancel(document=document, acting_user=request.user)
    return HttpResponse(status=204)


@member_view
def document_download(request: MemberRequest, project_id: int, document_id: int) -> HttpResponse:
    """Permission first (the project's view permission: "not found" without it), then a redirect to a URL signed for
    at most 60 seconds: inline for images and PDFs (unless `?download=1`), an attachment for everything else."""
    project, _access = _project(request, project_id)
    document = selectors.document_get(project, document_id)
    url = selectors.document_download_url(
        document, schema_name=request.route.schema_name, attachment=request.GET.get("download") == "1"
    )
    response = redirect(url)
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


@member_view
@require_http_methods(["GET", "POST"])
def document_delete(request: MemberRequest, project_id: int, document_id: int) -> HttpResponse:
    project, access = _project(request, project_id)
    document = selectors.document_get(project, document_id)
    access.require(ProjectPermission.CHANGE, project)
    form = DocumentDeleteForm(request.POST or None)
    back = _after_upload(project, document.task)
    if request.method == "POST" and form.is_valid():
        try:
            services.document_delete(
                document=document, confirm_name=form.cleaned_data["confirm_name"], acting_user=request.user
            )
        except ProjectInvalid as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, f"“{document.name}” was deleted.")
            return redirect(back)
    context = _project_context(
        project, access, "documents", document=document, form=form, back=back, size=human_size(document.size)
    )
    return render(request, "tenant/projects/document_delete.html", context, status=400 if form.errors else 200)
