"""What every page of the product shares: the member-only decorator, the project with the viewer's access, the frame
around a project's pages."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import render

from shared_apps.accounts.http import MemberRequest
from tenant_apps.projects import selectors
from tenant_apps.projects.models import Project
from tenant_apps.projects.permissions import (
    ProjectAccess,
    ProjectNotAllowed,
    ProjectNotFound,
    ProjectPermission,
    Viewer,
)

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


def viewer_of(request: MemberRequest) -> Viewer:
    return Viewer.of_membership(request.membership, request.user)


def project_and_access(request: MemberRequest, project_id: int) -> tuple[Project, ProjectAccess]:
    access = ProjectAccess(viewer_of(request))
    return selectors.project_get_for_user(access.viewer, project_id, access), access


def can_flags(access: ProjectAccess, project: Project) -> dict[str, bool]:
    return {
        "change": access.can(ProjectPermission.CHANGE, project),
        "manage": access.can(ProjectPermission.MANAGE, project),
    }


def project_context(project: Project, access: ProjectAccess, tab: str, **extra: object) -> dict[str, object]:
    """What every page of a project shows around its content: the name, badges, the viewer's access, the tabs."""
    return {
        "project": project,
        "can": can_flags(access, project),
        "access_level": access.level(project),
        "tab": tab,
        **extra,
    }
