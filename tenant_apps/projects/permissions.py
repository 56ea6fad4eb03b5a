"""Who may do what with a project, its tasks and its comments: the one place that decides. Pages, services and the
API ask here; nothing else reads the grant tables to take a decision.

Three permissions, each implying the ones before it:

- `view_project`: see the project, its board, its tasks and their comments;
- `change_project`: edit the project, create, edit, move and assign tasks, comment;
- `manage_project`: share it (grant and revoke), switch its visibility, archive, restore and delete it.

The rules:

1. Owners and admins of the workspace hold all three on every project, whatever the grants.
2. Every member may view a project whose visibility is "workspace"; a private one only its grantees see.
3. Anything more is a grant: a `ProjectUserObjectPermission` row (or a group's, held by its members). Granting a
   level stores the permissions it implies, so guardian's own checks (`user.has_perm(..., project)`) agree.
4. Tasks and comments have no grants: they follow their project.
5. An archived project is read-only: `change_project` is withdrawn until it is restored (managing still works, so it
   can be restored, shared or deleted).
6. Someone who is not a member of the workspace (or not signed in) holds nothing.

A person without `view_project` is answered "not found" (a private project's existence is not disclosed); one who
may view but not act is answered "not allowed".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from django.db.models import Exists, OuterRef, Q, QuerySet

from shared_apps.accounts.models import Membership, Role, User
from shared_apps.accounts.selectors import membership_for
from shared_apps.core.errors import ApplicationError
from tenant_apps.projects.models import (
    Project,
    ProjectGroupObjectPermission,
    ProjectUserObjectPermission,
    Visibility,
)
from tenants.db import connection


class ProjectPermission(StrEnum):
    VIEW = "view_project"
    CHANGE = "change_project"
    MANAGE = "manage_project"

    @property
    def perm(self) -> str:
        """The app-qualified name guardian and `user.has_perm` take."""
        return f"projects.{self.value}"


class AccessLevel(StrEnum):
    """What the sharing page grants one person: a level, stored as the permissions it implies."""

    VIEW = "view"
    CHANGE = "change"
    MANAGE = "manage"

    @property
    def label(self) -> str:
        return LEVEL_LABELS[self]

    @property
    def permissions(self) -> tuple[ProjectPermission, ...]:
        return LEVEL_PERMISSIONS[self]


LEVEL_PERMISSIONS: dict[AccessLevel, tuple[ProjectPermission, ...]] = {
    AccessLevel.VIEW: (ProjectPermission.VIEW,),
    AccessLevel.CHANGE: (ProjectPermission.VIEW, ProjectPermission.CHANGE),
    AccessLevel.MANAGE: (ProjectPermission.VIEW, ProjectPermission.CHANGE, ProjectPermission.MANAGE),
}
LEVEL_LABELS: dict[AccessLevel, str] = {
    AccessLevel.VIEW: "Can view",
    AccessLevel.CHANGE: "Can edit",
    AccessLevel.MANAGE: "Can manage",
}
ALL_PERMISSIONS = frozenset(ProjectPermission)
_CODENAMES = frozenset(p.value for p in ProjectPermission)
WORKSPACE_WIDE_ROLES = frozenset({Role.OWNER, Role.ADMIN})


def level_of(codenames: Iterable[str]) -> AccessLevel | None:
    """The highest level a set of granted codenames amounts to (None: no grant)."""
    held = set(codenames)
    for level in (AccessLevel.MANAGE, AccessLevel.CHANGE, AccessLevel.VIEW):
        if all(p.value in held for p in LEVEL_PERMISSIONS[level]):
            return level
    return AccessLevel.VIEW if held & _CODENAMES else None


class ProjectNotFound(ApplicationError):
    """No such project here, or one the person may not see: pages answer 404."""


class ProjectNotAllowed(ApplicationError):
    """The person sees the project but may not do this: pages answer 403; nothing was changed."""


@dataclass(frozen=True)
class Viewer:
    """Who is asking: an account and its role in the current workspace (None: not a member, or not signed in)."""

    user: User | None
    role: str | None

    @classmethod
    def of_membership(cls, membership: Membership | None, user: User | None) -> Viewer:
        """From what the membership middleware already loaded for the request (no query)."""
        if user is None or not user.is_authenticated or membership is None or membership.user_id != user.pk:
            return cls(user=None, role=None)
        return cls(user=user, role=membership.role)

    @classmethod
    def of_user(cls, user: User | None) -> Viewer:
        """Looked up for the workspace the connection is in (one query): what services use for `acting_user`."""
        if user is None or not user.is_authenticated or not user.is_active:
            return cls(user=None, role=None)
        tenant = getattr(connection, "tenant", None)
        membership = membership_for(user_id=user.pk, tenant_id=tenant.pk) if tenant is not None else None
        return cls(user=user if membership else None, role=membership.role if membership else None)

    @property
    def is_member(self) -> bool:
        return self.user is not None and self.role is not None

    @property
    def is_workspace_admin(self) -> bool:
        return self.is_member and self.role in WORKSPACE_WIDE_ROLES


def permissions_for(viewer: Viewer, project: Project, granted: Iterable[str] = ()) -> frozenset[ProjectPermission]:
    """The rules above, for one project and the codenames granted to `viewer` on it."""
    if not viewer.is_member:
        return frozenset()
    if viewer.is_workspace_admin:
        held = set(ALL_PERMISSIONS)
    else:
        held = {ProjectPermission(c) for c in granted if c in _CODENAMES}
        if project.visibility == Visibility.WORKSPACE:
            held.add(ProjectPermission.VIEW)
        if ProjectPermission.MANAGE in held:
            held |= {ProjectPermission.CHANGE, ProjectPermission.VIEW}
        if ProjectPermission.CHANGE in held:
            held.add(ProjectPermission.VIEW)
        if ProjectPermission.VIEW not in held:
            return frozenset()
    if project.archived_at is not None:
        held.discard(ProjectPermission.CHANGE)
    return frozenset(held)


# --- the same rules as SQL, for selectors ------------------------------------------------------------------------


def _user_grants(viewer: Viewer, codename: ProjectPermission) -> QuerySet[ProjectUserObjectPermission]:
    assert viewer.user is not None  # noqa: S101 (callers check is_member)
    return ProjectUserObjectPermission.objects.filter(
        content_object=OuterRef("pk"), user_id=viewer.user.pk, permission__codename=codename.value
    )


def _group_grants(viewer: Viewer, codename: ProjectPermission) -> QuerySet[ProjectGroupObjectPermission]:
    assert viewer.user is not None  # noqa: S101
    return ProjectGroupObjectPermission.objects.filter(
        content_object=OuterRef("pk"), group__user=viewer.user.pk, permission__codename=codename.value
    )


def viewable_filter(viewer: Viewer) -> Q:
    """A filter on `Project` keeping exactly what `viewer` may view: rules 1, 2 and 6 as one WHERE clause (two
    `EXISTS` on the grant tables, which PostgreSQL runs as hashed sub-plans: each grant table is read once)."""
    if not viewer.is_member:
        return Q(pk__in=[])
    if viewer.is_workspace_admin:
        return Q()
    return (
        Q(visibility=Visibility.WORKSPACE)
        | Exists(_user_grants(viewer, ProjectPermission.VIEW))
        | Exists(_group_grants(viewer, ProjectPermission.VIEW))
    )


# --- checks on a page: one query for every object on it ----------------------------------------------------------


def granted_codenames(viewer: Viewer, project_ids: Iterable[int]) -> dict[int, set[str]]:
    """The codenames granted to `viewer` (directly or through a group) on each of `project_ids`: one query."""
    ids = sorted(set(project_ids))
    found: dict[int, set[str]] = {pk: set() for pk in ids}
    if not ids or viewer.user is None:
        return found
    direct = ProjectUserObjectPermission.objects.filter(user_id=viewer.user.pk, content_object_id__in=ids)
    via_groups = ProjectGroupObjectPermission.objects.filter(group__user=viewer.user.pk, content_object_id__in=ids)
    rows = direct.values_list("content_object_id", "permission__codename").union(
        via_groups.values_list("content_object_id", "permission__codename"), all=True
    )
    for project_id, codename in rows:
        found[project_id].add(codename)
    return found


@dataclass
class ProjectAccess:
    """`viewer`'s permissions on a set of projects, read once (`prefetch`) and then answered from memory: a page asks
    about every project, task and comment it shows without a query per object. Workspace admins and non-members
    cost no query at all."""

    viewer: Viewer
    _granted: dict[int, set[str]] = field(default_factory=dict)

    def prefetch(self, projects: Iterable[Project]) -> ProjectAccess:
        missing = [p.pk for p in projects if p.pk not in self._granted]
        if missing and self.viewer.is_member and not self.viewer.is_workspace_admin:
            self._granted.update(granted_codenames(self.viewer, missing))
        return self

    def permissions(self, project: Project) -> frozenset[ProjectPermission]:
        if project.pk not in self._granted:
            self.prefetch([project])
        return permissions_for(self.viewer, project, self._granted.get(project.pk, ()))

    def can(self, permission: ProjectPermission, project: Project) -> bool:
        return permission in self.permissions(project)

    def can_view(self, project: Project) -> bool:
        return self.can(ProjectPermission.VIEW, project)

    def can_change(self, project: Project) -> bool:
        return self.can(ProjectPermission.CHANGE, project)

    def can_manage(self, project: Project) -> bool:
        return self.can(ProjectPermission.MANAGE, project)

    def require(self, permission: ProjectPermission, project: Project) -> None:
        """Raise unless `viewer` holds `permission`: not found without even `view_project`, else not allowed."""
        held = self.permissions(project)
        if ProjectPermission.VIEW not in held:
            raise ProjectNotFound("There is no such project in this workspace.")
        if permission not in held:
            raise ProjectNotAllowed(_refusal(permission, project))

    def level(self, project: Project) -> str:
        """How the viewer holds the project, in words (the list and the board say it)."""
        held = self.permissions(project)
        if self.viewer.is_workspace_admin:
            return "Full access (workspace admin)" if self.viewer.role == Role.ADMIN else "Full access (owner)"
        if ProjectPermission.MANAGE in held:
            return LEVEL_LABELS[AccessLevel.MANAGE]
        if ProjectPermission.CHANGE in held:
            return LEVEL_LABELS[AccessLevel.CHANGE]
        return LEVEL_LABELS[AccessLevel.VIEW] if held else ""


def _refusal(permission: ProjectPermission, project: Project) -> str:
    if permission == ProjectPermission.CHANGE and project.archived_at is not None:
        return f"“{project.name}” is archived: restore it to change it."
    if permission == ProjectPermission.MANAGE:
        return f"Only people who manage “{project.name}” can share, archive or delete it."
    return f"You can view “{project.name}” but not change it. Ask someone who manages it for edit access."


def access_for(viewer: Viewer) -> ProjectAccess:
    return ProjectAccess(viewer=viewer)
