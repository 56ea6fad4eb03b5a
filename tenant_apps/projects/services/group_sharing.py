"""Sharing a project with the workspace's groups (the groups its identity provider keeps through SCIM).

A group's grant is a `ProjectGroupObjectPermission` row per permission of the level, like a person's: every member of
the group holds it while they are in the group. The permission checks read group membership on every request, so
someone the identity provider takes out of the group (or whose membership ends) loses the access at their next
request; nothing here has to follow them."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from django.db import transaction
from django.utils.translation import gettext

from shared_apps.accounts.models import User
from shared_apps.identity.models import WorkspaceGroup
from shared_apps.identity.selectors import group_uuid, workspace_groups_by_id
from tenant_apps.audit.actions import AuditAction
from tenant_apps.audit.services import audit_record_many
from tenant_apps.projects.models import Project, ProjectGroupObjectPermission
from tenant_apps.projects.permissions import AccessLevel, ProjectPermission, level_of, permission_ids
from tenant_apps.projects.services.sharing import ShareResult
from tenant_apps.projects.services.validation import ProjectInvalid, acting_access, required_workspace_id
from tenants.db import connection

GROUPS_PER_CHANGE_MAX = 500


def _groups_of_workspace(group_ids: list[str | uuid.UUID]) -> dict[uuid.UUID, WorkspaceGroup]:
    """The workspace's groups named by `group_ids` (their SCIM ids); any id that is not one of them is refused."""
    parsed = [group_uuid(raw) for raw in group_ids]
    found = workspace_groups_by_id(tenant_id=required_workspace_id(), group_ids=[g for g in parsed if g is not None])
    if None in parsed or len(found) < len(set(parsed)):
        raise ProjectInvalid(gettext("Projects can only be shared with groups of this workspace."), field="group")
    return found


def _group_grants(project: Project, django_group_ids: list[int]) -> dict[int, AccessLevel | None]:
    codes: dict[int, set[str]] = {}
    for group_id, codename in ProjectGroupObjectPermission.objects.filter(
        content_object=project, group_id__in=django_group_ids
    ).values_list("group_id", "permission__codename"):
        codes.setdefault(group_id, set()).add(codename)
    return {group_id: level_of(held) for group_id, held in codes.items()}


@transaction.atomic
def project_group_share(
    *, project: Project, levels: Mapping[str | uuid.UUID, AccessLevel | None], acting_user: User
) -> ShareResult:
    """Set the access level of each group in `levels` (its SCIM id → level, None to revoke) on `project`. Only the
    workspace's own groups can hold a grant, and only someone who manages the project sets them. A fixed number of
    queries however many groups change (and whatever their size), and one audit entry per group granted, changed or
    revoked. The result names the groups."""
    access = acting_access(acting_user)
    access.require(ProjectPermission.MANAGE, project)
    if len(levels) > GROUPS_PER_CHANGE_MAX:
        raise ProjectInvalid(gettext("Change at most %(count)d groups at once.") % {"count": GROUPS_PER_CHANGE_MAX})
    groups = _groups_of_workspace(list(levels))
    wanted = {groups[group_uuid(raw)].group_id: level for raw, level in levels.items()}  # type: ignore[index]
    by_django_id = {g.group_id: g for g in groups.values()}
    list(Project.objects.select_for_update().filter(pk=project.pk).values_list("pk", flat=True))  # one at a time
    current = _group_grants(project, list(wanted))
    grants = {gid: level for gid, level in wanted.items() if level is not None and current.get(gid) != level}
    revokes = {gid: was for gid, level in wanted.items() if level is None and (was := current.get(gid)) is not None}
    touched = set(grants) | set(revokes)
    if touched:
        ProjectGroupObjectPermission.objects.filter(content_object=project, group_id__in=touched).delete()
    if grants:
        ids = permission_ids()
        ProjectGroupObjectPermission.objects.bulk_create(
            ProjectGroupObjectPermission(group_id=gid, content_object=project, permission_id=ids[p.value])
            for gid, level in grants.items()
            for p in level.permissions
        )

    def about(gid: int) -> dict[str, str]:
        group = by_django_id[gid]
        return {"group": str(group.scim_id), "group_name": group.display_name}

    if grants:
        audit_record_many(
            tenant=connection,
            action=AuditAction.PROJECT_GROUP_SHARED,
            actor=acting_user,
            target=project,
            metadata_list=[
                {**about(gid), "level": str(level), "previous_level": str(was) if (was := current.get(gid)) else None}
                for gid, level in grants.items()
            ],
        )
    if revokes:
        audit_record_many(
            tenant=connection,
            action=AuditAction.PROJECT_GROUP_UNSHARED,
            actor=acting_user,
            target=project,
            metadata_list=[{**about(gid), "previous_level": str(was)} for gid, was in revokes.items()],
        )
    return ShareResult(
        granted=[by_django_id[gid].display_name for gid in grants],
        revoked=[by_django_id[gid].display_name for gid in revokes],
        unchanged=len(wanted) - len(touched),
    )
