"""Sharing a project with people: per-project grants, and their removal when someone leaves."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext
from django_tenants.utils import schema_context

from shared_apps.accounts.models import Membership, User
from tenant_apps.audit.actions import AuditAction
from tenant_apps.audit.services import HasSchema, audit_record, audit_record_many
from tenant_apps.projects.models import Project, ProjectUserObjectPermission
from tenant_apps.projects.permissions import (
    WORKSPACE_WIDE_ROLES,
    AccessLevel,
    ProjectPermission,
    level_of,
    permission_ids,
)
from tenant_apps.projects.services.validation import ProjectInvalid, acting_access, required_workspace_id
from tenants.db import connection


@dataclass
class ShareResult:
    granted: list[str] = field(default_factory=list)  # emails of people who got access or a new level
    revoked: list[str] = field(default_factory=list)
    unchanged: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.granted or self.revoked)


@transaction.atomic
def project_share(*, project: Project, levels: Mapping[int, AccessLevel | None], acting_user: User) -> ShareResult:
    """Set the access level of each person in `levels` (user id → level, None to revoke) on `project`. Only members
    of the workspace can hold a grant; owners and admins already hold everything and are left as they are; nobody
    changes their own level. A fixed number of queries however many people change, and one audit entry per person
    granted, changed or revoked."""
    access = acting_access(acting_user)
    access.require(ProjectPermission.MANAGE, project)
    if acting_user.pk in levels:
        raise ProjectInvalid(gettext("You can't change your own access. Ask another person who manages the project."))
    list(Project.objects.select_for_update().filter(pk=project.pk).values_list("pk", flat=True))  # one at a time
    memberships = {
        m.user_id: m
        for m in Membership.objects.filter(tenant_id=required_workspace_id(), user_id__in=list(levels)).select_related(
            "user"
        )
    }
    unknown = set(levels) - set(memberships)
    if unknown:
        raise ProjectInvalid(gettext("Projects can only be shared with members of this workspace."))
    wanted = {uid: level for uid, level in levels.items() if memberships[uid].role not in WORKSPACE_WIDE_ROLES}
    current = {uid: level_of(codes) for uid, codes in _direct_grants(project, list(wanted)).items()}
    grants = {uid: level for uid, level in wanted.items() if level is not None and current.get(uid) != level}
    revokes = {uid: was for uid, level in wanted.items() if level is None and (was := current.get(uid)) is not None}
    emails = {uid: m.user.email for uid, m in memberships.items()}
    result = grants_apply(project, grants, revokes, acting_user=acting_user, emails=emails, current=current)
    result.unchanged = len(levels) - len(grants) - len(revokes)
    return result


def _direct_grants(project: Project, user_ids: list[int]) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    for uid, codename in ProjectUserObjectPermission.objects.filter(
        content_object=project, user_id__in=user_ids
    ).values_list("user_id", "permission__codename"):
        found.setdefault(uid, set()).add(codename)
    return found


def grants_apply(
    project: Project,
    grants: Mapping[int, AccessLevel],
    revokes: Mapping[int, AccessLevel],
    *,
    acting_user: User,
    emails: Mapping[int, str],
    current: Mapping[int, AccessLevel | None] | None = None,
) -> ShareResult:
    """Replace the rows of everyone in `grants` and `revokes` with their new level: one DELETE, one INSERT, one
    query for the permission ids and one INSERT per audit action, whatever the number of people."""
    current = current or {}
    result = ShareResult()
    touched = set(grants) | set(revokes)
    if not touched:
        return result
    ProjectUserObjectPermission.objects.filter(content_object=project, user_id__in=touched).delete()
    if grants:
        ids = permission_ids()
        ProjectUserObjectPermission.objects.bulk_create(
            ProjectUserObjectPermission(user_id=uid, content_object=project, permission_id=ids[p.value])
            for uid, level in grants.items()
            for p in level.permissions
        )
    audit_record_many(
        tenant=connection,
        action=AuditAction.PROJECT_SHARED,
        actor=acting_user,
        target=project,
        metadata_list=[
            {
                "user_id": uid,
                "email": emails.get(uid, ""),
                "level": str(level),
                "previous_level": str(current[uid]) if current.get(uid) else None,
            }
            for uid, level in grants.items()
        ],
    )
    audit_record_many(
        tenant=connection,
        action=AuditAction.PROJECT_UNSHARED,
        actor=acting_user,
        target=project,
        metadata_list=[
            {"user_id": uid, "email": emails.get(uid, ""), "previous_level": str(level)}
            for uid, level in revokes.items()
        ],
    )
    result.granted = [emails.get(uid, str(uid)) for uid in grants]
    result.revoked = [emails.get(uid, str(uid)) for uid in revokes]
    return result


def grants_revoke_departed(*, tenant: HasSchema, user_id: int) -> int:
    """Someone left the workspace (or was removed): their per-project grants go too, so nothing comes back if they
    are invited again. Runs in the transaction that ended the membership. Returns how many grants went."""
    with schema_context(tenant.schema_name):
        grants = ProjectUserObjectPermission.objects.filter(user_id=user_id)
        projects = sorted(set(grants.values_list("content_object_id", flat=True)))
        if not projects:
            return 0
        removed, _ = grants.delete()
        audit_record(
            tenant=tenant,
            action=AuditAction.PROJECT_UNSHARED,
            actor=None,
            metadata={"user_id": user_id, "projects": projects, "reason": "no longer a member"},
        )
    return removed
