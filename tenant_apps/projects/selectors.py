"""Reads of the product, permission-aware: every list holds only what the viewer may see (the rules are
`permissions.py`'s), in a fixed number of queries whatever the number of projects, grants, tasks or comments."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.db.models import Count, F, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from shared_apps.accounts.models import Membership
from shared_apps.accounts.selectors import member_list
from tenant_apps.projects.models import (
    Comment,
    Project,
    ProjectGroupObjectPermission,
    ProjectUserObjectPermission,
    Task,
    TaskStatus,
    Visibility,
)
from tenant_apps.projects.permissions import (
    WORKSPACE_WIDE_ROLES,
    ProjectAccess,
    ProjectNotFound,
    ProjectPermission,
    Viewer,
    permissions_for,
    viewable_filter,
)

# Ids in URLs are path integers of any length; past PostgreSQL's bigint they can only be "not found".
MAX_ID = 2**63 - 1


class ProjectShow(StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"
    ALL = "all"


def _count_of(tasks: QuerySet[Task]) -> Coalesce:
    counted = tasks.order_by().values("project").annotate(n=Count("*")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def project_list_for_user(
    viewer: Viewer, *, search: str = "", show: str = ProjectShow.ACTIVE, visibility: str = ""
) -> QuerySet[Project]:
    """The projects `viewer` may view, by name, with their creators and task counts: ONE query (the grant check is
    an `EXISTS` on the grant tables, the counts are sub-selects), whatever the number of projects or grants."""
    projects = Project.objects.filter(viewable_filter(viewer))
    if show == ProjectShow.ACTIVE:
        projects = projects.filter(archived_at__isnull=True)
    elif show == ProjectShow.ARCHIVED:
        projects = projects.filter(archived_at__isnull=False)
    if visibility in Visibility.values:
        projects = projects.filter(visibility=visibility)
    search = search.strip()
    if search:
        projects = projects.filter(name__icontains=search)
    open_tasks = Task.objects.filter(project=OuterRef("pk")).exclude(status=TaskStatus.DONE)
    done_tasks = Task.objects.filter(project=OuterRef("pk"), status=TaskStatus.DONE)
    return (
        projects.select_related("created_by")
        .annotate(open_task_count=_count_of(open_tasks), done_task_count=_count_of(done_tasks))
        .order_by("name", "id")
    )


def project_get_for_user(viewer: Viewer, project_id: int, access: ProjectAccess | None = None) -> Project:
    """One project `viewer` may view (ProjectNotFound otherwise, and for another workspace's id: the schema is the
    workspace): one query, plus one for the viewer's grants unless `access` already holds them."""
    project = (
        Project.objects.select_related("created_by").filter(pk=project_id).first() if project_id <= MAX_ID else None
    )
    if project is None:
        raise ProjectNotFound("There is no such project in this workspace.")
    (access or ProjectAccess(viewer)).require(ProjectPermission.VIEW, project)
    return project


def board_columns(project: Project) -> dict[str, list[Task]]:
    """The board: each column's tasks in order, with assignees and comment counts. One query."""
    comments = Comment.objects.filter(task=OuterRef("pk")).order_by().values("task").annotate(n=Count("*")).values("n")
    tasks = (
        Task.objects.filter(project=project)
        .select_related("assignee")
        .annotate(comment_count=Coalesce(Subquery(comments, output_field=IntegerField()), Value(0)))
        .order_by("position", "id")
    )
    columns: dict[str, list[Task]] = {status: [] for status in TaskStatus.values}
    for task in tasks:
        columns[task.status].append(task)
    return columns


def task_get(project: Project, task_id: int) -> Task:
    """A task of `project` (ProjectNotFound for any other id, including another project's task). One query."""
    task = (
        Task.objects.select_related("assignee", "created_by").filter(pk=task_id, project=project).first()
        if task_id <= MAX_ID
        else None
    )
    if task is None:
        raise ProjectNotFound("There is no such task in this project.")
    task.project = project
    return task


def project_size(project: Project) -> tuple[int, int]:
    """How many tasks and comments deleting `project` would delete. One query."""
    counts = Task.objects.filter(project=project).aggregate(
        tasks=Count("pk", distinct=True), comments=Count("comments")
    )
    return counts["tasks"] or 0, counts["comments"] or 0


def comment_list(task: Task) -> QuerySet[Comment]:
    """A task's comments, oldest first, with their authors. One query."""
    return Comment.objects.filter(task=task).select_related("author").order_by("created_at", "id")


def comment_get(task: Task, comment_id: int) -> Comment:
    comment = (
        Comment.objects.select_related("author").filter(pk=comment_id, task=task).first()
        if comment_id <= MAX_ID
        else None
    )
    if comment is None:
        raise ProjectNotFound("There is no such comment on this task.")
    return comment


def tasks_assigned_to(viewer: Viewer, *, limit: int = 10) -> list[Task]:
    """Open tasks assigned to `viewer` in active projects they may still view, soonest due first. One query."""
    if viewer.user is None:
        return []
    visible = Project.objects.filter(viewable_filter(viewer), archived_at__isnull=True).values("pk")
    tasks = (
        Task.objects.filter(assignee=viewer.user, project__in=visible)
        .exclude(status=TaskStatus.DONE)
        .select_related("project")
        .order_by(F("due_date").asc(nulls_last=True), "id")
    )
    return list(tasks[:limit])


# --- who has access ----------------------------------------------------------------------------------------------


def project_user_grants(project: Project) -> dict[int, set[str]]:
    """user id → the codenames granted to that person directly on `project`. One query."""
    grants: dict[int, set[str]] = {}
    for user_id, codename in ProjectUserObjectPermission.objects.filter(content_object=project).values_list(
        "user_id", "permission__codename"
    ):
        grants.setdefault(user_id, set()).add(codename)
    return grants


def project_group_grants_by_user(project: Project) -> dict[int, set[str]]:
    """user id → the codenames that person holds on `project` through their groups. One query."""
    grants: dict[int, set[str]] = {}
    for user_id, codename in ProjectGroupObjectPermission.objects.filter(
        content_object=project, group__user__isnull=False
    ).values_list("group__user", "permission__codename"):
        grants.setdefault(user_id, set()).add(codename)
    return grants


@dataclass(frozen=True)
class ProjectMember:
    """A member of the workspace as the sharing page and the assignee list see them for one project."""

    membership: Membership
    granted: frozenset[str]  # codenames granted directly (the sharing page edits these)
    permissions: frozenset[ProjectPermission]  # what they may do, all rules applied

    @property
    def is_workspace_admin(self) -> bool:
        return self.membership.role in WORKSPACE_WIDE_ROLES

    @property
    def can_view(self) -> bool:
        return ProjectPermission.VIEW in self.permissions


def project_members(project: Project, *, tenant_id: int, search: str = "") -> list[ProjectMember]:
    """Every member of the workspace (owners first) with their direct grants on `project` and what they may do
    there. Three queries: members, direct grants, group grants."""
    members = list(member_list(tenant_id=tenant_id, search=search))
    direct = project_user_grants(project)
    via_groups = project_group_grants_by_user(project)
    rows = []
    for membership in members:
        granted = direct.get(membership.user_id, set())
        viewer = Viewer(user=membership.user, role=membership.role)
        held = permissions_for(viewer, project, granted | via_groups.get(membership.user_id, set()))
        rows.append(ProjectMember(membership=membership, granted=frozenset(granted), permissions=held))
    return rows


def assignable_members(project: Project, *, tenant_id: int) -> list[ProjectMember]:
    """The people a task of `project` can be assigned to: members who may view it."""
    return [m for m in project_members(project, tenant_id=tenant_id) if m.can_view]
