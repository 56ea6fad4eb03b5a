"""Sharing a project: per-person access levels, the workspace's groups' levels and the project's visibility."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
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
    groups = selectors.project_groups(project, tenant_id=request.route.tenant_id)
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
        groups=groups,
        groups_with_access=[g for g in groups if g.level is not None],
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


@member_view
@require_POST
def project_sharing_group(request: MemberRequest, project_id: int) -> HttpResponse:
    """Give a group (chosen on the sharing page) a level on the project, or change the level it has."""
    project, _access = project_and_access(request, project_id)
    group_id, value = request.POST.get("group", ""), request.POST.get("level", "")
    try:
        if value not in {level.value for level in AccessLevel}:
            raise ProjectInvalid(_("Choose one of the access levels."))
        result = services.project_group_share(
            project=project, levels={group_id: AccessLevel(value)}, acting_user=request.user
        )
    except ProjectInvalid as exc:
        messages.error(request, exc.message)
    else:
        if result.granted:
            messages.success(
                request,
                _("Everyone in “%(group)s” now has “%(level)s” on “%(name)s”.")
                % {"group": result.granted[0], "level": AccessLevel(value).label, "name": project.name},
            )
        else:
            messages.info(request, _("Nothing changed."))
    return redirect("project_sharing", project_id=project.pk)


@member_view
@require_http_methods(["GET", "POST"])
def project_sharing_group_revoke(request: MemberRequest, project_id: int, group_id: uuid.UUID) -> HttpResponse:
    """Confirm, then take a group's access to the project away (its members keep what they hold otherwise)."""
    project, access = project_and_access(request, project_id)
    access.require(ProjectPermission.MANAGE, project)
    found = [g for g in selectors.project_groups(project, tenant_id=request.route.tenant_id) if g.level is not None]
    row = next((g for g in found if g.group.scim_id == group_id), None)
    if row is None:
        raise Http404(_("This group has no access to the project."))
    if request.method == "POST":
        try:
            services.project_group_share(project=project, levels={group_id: None}, acting_user=request.user)
        except ProjectInvalid as exc:  # the identity provider deleted the group meanwhile
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                _("“%(group)s” no longer has access to “%(name)s”.")
                % {"group": row.group.display_name, "name": project.name},
            )
        return redirect("project_sharing", project_id=project.pk)
    members = ngettext("%(count)d member", "%(count)d members", row.member_count) % {"count": row.member_count}
    context = project_context(project, access, "sharing", row=row, members=members)
    return render(request, "tenant/projects/sharing_group_revoke.html", context)
