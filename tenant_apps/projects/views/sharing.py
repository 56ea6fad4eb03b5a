"""Sharing a project: per-person access levels and the project's visibility."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from shared_apps.accounts.http import MemberRequest
from tenant_apps.projects import selectors, services
from tenant_apps.projects.forms import VisibilityForm
from tenant_apps.projects.models import Visibility
from tenant_apps.projects.permissions import AccessLevel, ProjectPermission, level_of
from tenant_apps.projects.services import ProjectInvalid
from tenant_apps.projects.views.base import member_view, project_and_access, project_context


def _levels_from(data: QueryDict, member_ids: set[int]) -> dict[int, AccessLevel | None]:
    """The sharing form's `level-<user id>` fields, for the people the page listed; anything else is refused."""
    levels: dict[int, AccessLevel | None] = {}
    for key in data:
        if not key.startswith("level-"):
            continue
        value = data.get(key, "")
        raw_id = key.removeprefix("level-")
        if not raw_id.isdigit() or len(raw_id) > 18 or int(raw_id) not in member_ids:
            raise ProjectInvalid(_("That person is not a member of this workspace any more. Reload the page."))
        if value and value not in {level.value for level in AccessLevel}:
            raise ProjectInvalid(_("Choose one of the access levels."))
        levels[int(raw_id)] = AccessLevel(value) if value else None
    return levels


@member_view
@require_http_methods(["GET", "POST"])
def project_sharing(request: MemberRequest, project_id: int) -> HttpResponse:
    project, access = project_and_access(request, project_id)
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
                messages.info(request, _("Nothing changed."))
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
    context = project_context(
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
    project, _access = project_and_access(request, project_id)
    form = VisibilityForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose who can see the project."))
        return redirect("project_sharing", project_id=project.pk)
    services.project_visibility_set(
        project=project, visibility=form.cleaned_data["visibility"], acting_user=request.user
    )
    if project.visibility == Visibility.PRIVATE:
        messages.success(
            request, _("“%(name)s” is private: only the people below can see it.") % {"name": project.name}
        )
    else:
        messages.success(request, _("Everyone in the workspace can now see “%(name)s”.") % {"name": project.name})
    return redirect("project_sharing", project_id=project.pk)
