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
from copy import copy
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.contrib.auth.models import Permission
from django.contrib.postgres.fields import ArrayField
from django.db.models import BooleanField, Expression, F, IntegerField, Q, QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shared_apps.accounts.models import Membership, Role, User
from shared_apps.accounts.selectors import membership_for
from shared_apps.core.errors import ApplicationError
from tenant_apps.projects.models import (
    Project,
    ProjectGroupObjectPermission,
    ProjectUserObjectPermission,
    Visibility,
)
from tenants.db import connection, table_sql
from tenants.models import PUBLIC_SCHEMA, Tenant


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
        return str(LEVEL_LABELS[self])

    @property
    def permissions(self) -> tuple[ProjectPermission, ...]:
        return LEVEL_PERMISSIONS[self]


LEVEL_PERMISSIONS: dict[AccessLevel, tuple[ProjectPermission, ...]] = {
    AccessLevel.VIEW: (ProjectPermission.VIEW,),
    AccessLevel.CHANGE: (ProjectPermission.VIEW, ProjectPermission.CHANGE),
    AccessLevel.MANAGE: (ProjectPermission.VIEW, ProjectPermission.CHANGE, ProjectPermission.MANAGE),
}
LEVEL_LABELS: dict[AccessLevel, Promise] = {
    AccessLevel.VIEW: gettext_lazy("Can view"),
    AccessLevel.CHANGE: gettext_lazy("Can edit"),
    AccessLevel.MANAGE: gettext_lazy("Can manage"),
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


def current_workspace_id() -> int | None:
    """The workspace the connection is in: its Tenant's id, looked up by schema (one query) when the connection
    holds only the schema name (a task switched there by tenant-schemas-celery)."""
    tenant = getattr(connection, "tenant", None)
    pk = getattr(tenant, "pk", None)
    if pk is not None:
        return int(pk)
    schema = getattr(connection, "schema_name", None)
    if not schema or schema == PUBLIC_SCHEMA:
        return None
    return Tenant.objects.filter(schema_name=schema).values_list("pk", flat=True).first()


@dataclass(frozen=True)
class Viewer:
    """Who is asking: an account and its role in the current workspace (None: not a member, or not signed in)."""

    user: User | None
    role: str | None

    @classmethod
    def of_membership(cls, membership: Membership | None, user: User | None) -> Viewer:
        """From what the membership middleware loaded for the request's own user (no query)."""
        if user is None or not user.is_authenticated or membership is None:
            return cls(user=None, role=None)
        return cls(user=user, role=membership.role)

    @classmethod
    def of_user(cls, user: User | None) -> Viewer:
        """Looked up for the workspace the connection is in (one query): what services use for `acting_user`."""
        if user is None or not user.is_authenticated or not user.is_active:
            return cls(user=None, role=None)
        tenant_id = current_workspace_id()
        membership = membership_for(user_id=user.pk, tenant_id=tenant_id) if tenant_id is not None else None
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

# Permission ids live in the public schema, one numbering for every workspace (like content types, whose ids Django
# also keeps per process): read once, they let the grant tables be filtered on an integer instead of a join.
_PERMISSION_IDS: dict[str, int] = {}


def permission_ids() -> dict[str, int]:
    """codename → id of the three project permissions (one query, the first time in a process)."""
    if len(_PERMISSION_IDS) < len(ProjectPermission):
        _PERMISSION_IDS.update(
            Permission.objects.filter(content_type__app_label="projects", codename__in=_CODENAMES).values_list(
                "codename", "id"
            )
        )
    return _PERMISSION_IDS


def _codenames_by_id() -> dict[int, str]:
    return {pk: codename for codename, pk in permission_ids().items()}


def _grant_tables(conn: Any) -> tuple[str, str, str]:
    return (
        table_sql(ProjectUserObjectPermission, conn),
        table_sql(ProjectGroupObjectPermission, conn),
        table_sql(User.groups.through, conn),
    )


class _ViewableByGrant(Expression):
    """`pk = ANY(ARRAY(ids of the projects granted view_project to the user, directly or through a group))`.

    Uncorrelated, so PostgreSQL runs the inner SELECT once (an InitPlan) and looks the ids up in the primary key's
    index; OR-ed with the visibility arm it is a BitmapOr that touches only matching rows. Written as SQL because
    this is the hottest path of the product: the ORM took longer to compile the equivalent subqueries than the
    database took to answer them (`make bench-permissions`)."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, user_id: int, permission_id: int) -> None:
        super().__init__()
        self.user_id, self.permission_id = user_id, permission_id

    def resolve_expression(self, *args: Any, **kwargs: Any) -> _ViewableByGrant:
        resolved = copy(self)
        resolved.pk = F("pk").resolve_expression(*args, **kwargs)  # type: ignore[attr-defined]
        return resolved

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, tuple[Any, ...]]:
        pk_sql, pk_params = compiler.compile(self.pk)  # type: ignore[attr-defined]
        users, groups, memberships = _grant_tables(connection)
        # table names are the models' own, quoted, with their schema; every value is a parameter
        sql = (
            f"({pk_sql} = ANY(ARRAY("  # noqa: S608
            f"SELECT content_object_id FROM {users} WHERE user_id = %s AND permission_id = %s "
            f"UNION ALL SELECT g.content_object_id FROM {groups} g JOIN {memberships} m ON m.group_id = g.group_id "
            f"WHERE m.user_id = %s AND g.permission_id = %s)))"
        )
        return sql, (*pk_params, self.user_id, self.permission_id, self.user_id, self.permission_id)


class _GrantedIds(Expression):
    """The ids of the permissions granted to the user on the row's project, directly or through a group: an array
    sub-select per returned row (index lookups), evaluated after the LIMIT."""

    output_field = ArrayField(IntegerField())

    def __init__(self, user_id: int) -> None:
        super().__init__()
        self.user_id = user_id

    def resolve_expression(self, *args: Any, **kwargs: Any) -> _GrantedIds:
        resolved = copy(self)
        resolved.pk = F("pk").resolve_expression(*args, **kwargs)  # type: ignore[attr-defined]
        return resolved

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, tuple[Any, ...]]:
        pk_sql, pk_params = compiler.compile(self.pk)  # type: ignore[attr-defined]
        users, groups, memberships = _grant_tables(connection)
        sql = (
            f"ARRAY(SELECT permission_id FROM {users} WHERE content_object_id = {pk_sql} AND user_id = %s "  # noqa: S608
            f"UNION ALL SELECT g.permission_id FROM {groups} g JOIN {memberships} m ON m.group_id = g.group_id "
            f"WHERE g.content_object_id = {pk_sql} AND m.user_id = %s)"
        )
        return sql, (*pk_params, self.user_id, *pk_params, self.user_id)


def _user_grants(viewer: Viewer) -> QuerySet[ProjectUserObjectPermission]:
    assert viewer.user is not None  # noqa: S101 (callers check is_member)
    return ProjectUserObjectPermission.objects.filter(user_id=viewer.user.pk)


def _group_grants(viewer: Viewer) -> QuerySet[ProjectGroupObjectPermission]:
    assert viewer.user is not None  # noqa: S101
    groups = User.groups.through.objects.filter(user_id=viewer.user.pk).values("group_id")
    return ProjectGroupObjectPermission.objects.filter(group_id__in=groups)


def viewable_filter(viewer: Viewer) -> Q:
    """A filter on `Project` keeping exactly what `viewer` may view: rules 1, 2 and 6 as one WHERE clause. The grant
    check is a semi-join on the grant tables (`id = ANY(ARRAY(SELECT content_object_id …))`, the equivalent of an
    EXISTS that PostgreSQL answers from the indexes), so the list stays one query whatever the number of grants."""
    if not viewer.is_member:
        return Q(pk__in=[])
    if viewer.is_workspace_admin:
        return Q()
    assert viewer.user is not None  # noqa: S101
    return Q(visibility=Visibility.WORKSPACE) | Q(
        _ViewableByGrant(viewer.user.pk, permission_ids()[ProjectPermission.VIEW])
    )


GRANTED = "granted_permission_ids"


def with_granted(projects: QuerySet[Project], viewer: Viewer) -> QuerySet[Project]:
    """Each project annotated with the permission ids granted to `viewer` on it (directly or through a group), as
    part of the same query: `ProjectAccess` then answers for every project of the page without another query."""
    if not viewer.is_member or viewer.is_workspace_admin:
        return projects
    assert viewer.user is not None  # noqa: S101
    return projects.annotate(**{GRANTED: _GrantedIds(viewer.user.pk)})


# --- checks on a page: one query for every object on it ----------------------------------------------------------


def granted_codenames(viewer: Viewer, project_ids: Iterable[int]) -> dict[int, set[str]]:
    """The codenames granted to `viewer` (directly or through a group) on each of `project_ids`: one query."""
    ids = sorted(set(project_ids))
    found: dict[int, set[str]] = {pk: set() for pk in ids}
    if not ids or viewer.user is None:
        return found
    names = _codenames_by_id()
    rows = (
        _user_grants(viewer)
        .filter(content_object_id__in=ids)
        .values_list("content_object_id", "permission_id")
        .union(
            _group_grants(viewer).filter(content_object_id__in=ids).values_list("content_object_id", "permission_id"),
            all=True,
        )
    )
    for project_id, permission_id in rows:
        if permission_id in names:
            found[project_id].add(names[permission_id])
    return found


@dataclass
class ProjectAccess:
    """`viewer`'s permissions on a set of projects, read once (`prefetch`) and then answered from memory: a page asks
    about every project, task and comment it shows without a query per object. Workspace admins and non-members
    cost no query at all."""

    viewer: Viewer
    _granted: dict[int, set[str]] = field(default_factory=dict)

    def prefetch(self, projects: Iterable[Project]) -> ProjectAccess:
        """Read the grants of `projects` in one query (none for those a selector annotated `with_granted`)."""
        if not self.viewer.is_member or self.viewer.is_workspace_admin:
            return self
        missing = []
        names = None
        for project in projects:
            if project.pk in self._granted:
                continue
            annotated = getattr(project, GRANTED, None)
            if annotated is None:
                missing.append(project.pk)
                continue
            names = names or _codenames_by_id()
            self._granted[project.pk] = {names[i] for i in annotated if i in names}
        if missing:
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
            raise ProjectNotFound(_("There is no such project in this workspace."))
        if permission not in held:
            raise ProjectNotAllowed(_refusal(permission, project))

    def level(self, project: Project) -> str:
        """How the viewer holds the project, in words (the list and the board say it)."""
        held = self.permissions(project)
        if self.viewer.is_workspace_admin:
            return _("Full access (workspace admin)") if self.viewer.role == Role.ADMIN else _("Full access (owner)")
        if ProjectPermission.MANAGE in held:
            return str(LEVEL_LABELS[AccessLevel.MANAGE])
        if ProjectPermission.CHANGE in held:
            return str(LEVEL_LABELS[AccessLevel.CHANGE])
        return str(LEVEL_LABELS[AccessLevel.VIEW]) if held else ""


def _refusal(permission: ProjectPermission, project: Project) -> str:
    if permission == ProjectPermission.CHANGE and project.archived_at is not None:
        return _("“%(name)s” is archived: restore it to change it.") % {"name": project.name}
    if permission == ProjectPermission.MANAGE:
        return _("Only people who manage “%(name)s” can share, archive or delete it.") % {"name": project.name}
    return _("You can view “%(name)s” but not change it. Ask someone who manages it for edit access.") % {
        "name": project.name
    }
