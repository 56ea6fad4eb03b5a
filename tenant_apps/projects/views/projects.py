"""Home and projects: the list, create, edit, archive, restore, delete."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from billing.entitlements import LimitReached
from shared_apps.accounts.http import MemberRequest
from shared_apps.core.text import without_nul
from tenant_apps.projects import selectors, services
from tenant_apps.projects.forms import SEARCH_MAX_LENGTH, ProjectDeleteForm, ProjectForm
from tenant_apps.projects.models import Project, Visibility
from tenant_apps.projects.permissions import ProjectAccess, ProjectPermission
from tenant_apps.projects.selectors import ProjectShow
from tenant_apps.projects.services import ProjectInvalid
from tenant_apps.projects.views.base import member_view, project_and_access, project_context, viewer_of

PROJECTS_PER_PAGE = 50
HOME_PROJECTS = 6


@member_view
def home(request: MemberRequest) -> HttpResponse:
    """The workspace's front door: the projects the person can open and the tasks waiting for them."""
    viewer = viewer_of(request)
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
    viewer = viewer_of(request)
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
        "shows": [
            (ProjectShow.ACTIVE, _("Active")),
            (ProjectShow.ARCHIVED, _("Archived")),
            (ProjectShow.ALL, _("All")),
        ],
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
            messages.success(request, _("“%(name)s” is ready. Add its first tasks.") % {"name": project.name})
            return redirect("project_board", project_id=project.pk)
    context = {"form": form, "creating": True, "base_template": "tenant/base_tenant.html"}
    return render(request, "tenant/projects/form.html", context)


@member_view
@require_http_methods(["GET", "POST"])
def project_edit(request: MemberRequest, project_id: int) -> HttpResponse:
    project, access = project_and_access(request, project_id)
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
            messages.success(request, _("Project details saved."))
            return redirect("project_board", project_id=project.pk)
    context = project_context(
        project, access, "settings", form=form, creating=False, base_template="tenant/projects/base_project.html"
    )
    return render(request, "tenant/projects/form.html", context)


@member_view
@require_POST
def project_archive(request: MemberRequest, project_id: int) -> HttpResponse:
    project, _access = project_and_access(request, project_id)
    services.project_archive(project=project, acting_user=request.user)
    messages.success(
        request, _("“%(name)s” is archived: read-only, and hidden from the active list.") % {"name": project.name}
    )
    return redirect("project_board", project_id=project.pk)


@member_view
@require_POST
def project_restore(request: MemberRequest, project_id: int) -> HttpResponse:
    project, _access = project_and_access(request, project_id)
    services.project_restore(project=project, acting_user=request.user)
    messages.success(request, _("“%(name)s” is active again.") % {"name": project.name})
    return redirect("project_board", project_id=project.pk)


@member_view
@require_http_methods(["GET", "POST"])
def project_delete(request: MemberRequest, project_id: int) -> HttpResponse:
    project, access = project_and_access(request, project_id)
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
            messages.success(request, _("“%(name)s” and its tasks were deleted.") % {"name": project.name})
            return redirect("project_list")
    tasks, comments = selectors.project_size(project)
    context = project_context(project, access, "settings", form=form, task_count=tasks, comment_count=comments)
    return render(request, "tenant/projects/delete.html", context)
