"""Activity pages on a workspace host: the workspace's feed (/activity/, also a fragment the home page loads) and a
project's activity (/activity/projects/<id>/, a tab of the project). Thin: a selector, a paginator, a template."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from shared_apps.accounts.http import MemberRequest, member_required
from tenant_apps.activity.selectors import activity_for, line_of
from tenant_apps.projects import selectors as project_selectors
from tenant_apps.projects.permissions import (
    ProjectAccess,
    ProjectNotAllowed,
    ProjectNotFound,
    ProjectPermission,
    Viewer,
)

PER_PAGE = 25
HOME_LINES = 8


def _viewer(request: MemberRequest) -> Viewer:
    return Viewer.of_membership(request.membership, request.user)


@require_GET
@member_required(not_found=(ProjectNotFound, ProjectNotAllowed))
def workspace_activity(request: MemberRequest) -> HttpResponse:
    events = activity_for(_viewer(request))
    if request.GET.get("fragment") == "home":
        lines = [line_of(e) for e in events[:HOME_LINES]]
        return render(request, "tenant/activity/_home.html", {"lines": lines})
    page = Paginator(events, PER_PAGE).get_page(request.GET.get("page"))
    lines = [line_of(e) for e in page.object_list]
    return render(request, "tenant/activity/workspace.html", {"page": page, "lines": lines})


@require_GET
@member_required(not_found=(ProjectNotFound, ProjectNotAllowed))
def project_activity(request: MemberRequest, project_id: int) -> HttpResponse:
    access = ProjectAccess(_viewer(request))
    project = project_selectors.project_get_for_user(access.viewer, project_id, access)
    page = Paginator(activity_for(access.viewer, project=project), PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "project": project,
        "can": {
            "change": access.can(ProjectPermission.CHANGE, project),
            "manage": access.can(ProjectPermission.MANAGE, project),
        },
        "access_level": access.level(project),
        "tab": "activity",
        "page": page,
        "lines": [line_of(e) for e in page.object_list],
    }
    return render(request, "tenant/activity/project.html", context)
