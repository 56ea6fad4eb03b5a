"""Reads of the product, permission-aware: every list holds only what the viewer may see (the rules are
`permissions.py`'s), in a fixed number of queries whatever the number of projects, grants, tasks or comments."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from copy import copy
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, overload

from django.db.models import Count, Expression, F, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from shared_apps.accounts.models import Membership, User
from shared_apps.accounts.selectors import member_list
from shared_apps.core.sql import compiled_once
from shared_apps.identity.models import WorkspaceGroup
from shared_apps.identity.selectors import workspace_group_list
from shared_apps.storage.backends import TenantStorage, files
from shared_apps.storage.inspection import ALLOWED
from shared_apps.storage.keys import KeyRefused, key_in_workspace
from tenant_apps.projects.models import (
    Comment,
    Document,
    DocumentStatus,
    Label,
    Project,
    ProjectGroupObjectPermission,
    ProjectUserObjectPermission,
    Task,
    TaskStatus,
    ThumbnailStatus,
    Visibility,
)
from tenant_apps.projects.permissions import (
    WORKSPACE_WIDE_ROLES,
    AccessLevel,
    ProjectAccess,
    ProjectNotFound,
    ProjectPermission,
    Viewer,
    level_of,
    permissions_for,
    viewable_filter,
    with_granted,
)
from tenants.db import table_sql

logger = logging.getLogger(__name__)

# Ids in URLs are path integers of any length; past PostgreSQL's bigint they can only be "not found".
MAX_ID = 2**63 - 1


class ProjectShow(StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"
    ALL = "all"


class _TaskCount(Expression):
    """How many of the row's project's tasks are done (or not): a sub-select per returned row on the board's index,
    written as SQL for the same reason as the grant check (`permissions._ViewableByGrant`)."""

    output_field = IntegerField()

    def __init__(self, *, done: bool) -> None:
        super().__init__()
        self.done = done

    def resolve_expression(self, *args: Any, **kwargs: Any) -> _TaskCount:
        resolved = copy(self)
        resolved.pk = F("pk").resolve_expression(*args, **kwargs)  # type: ignore[attr-defined]
        return resolved

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, tuple[Any, ...]]:
        pk_sql, pk_params = compiler.compile(self.pk)  # type: ignore[attr-defined]
        tasks = table_sql(Task, connection)
        operator = "=" if self.done else "<>"
        sql = f"(SELECT count(*) FROM {tasks} WHERE project_id = {pk_sql} AND status {operator} %s)"  # noqa: S608
        return sql, (*pk_params, TaskStatus.DONE.value)


def project_list_for_user(
    viewer: Viewer, *, search: str = "", show: str = ProjectShow.ACTIVE, visibility: str = ""
) -> QuerySet[Project]:
    """The projects `viewer` may view, by name, with their creators, task counts and the viewer's grants on each:
    ONE query (the grant check is a semi-join on the grant tables, the rest sub-selects), whatever the number of
    projects or grants; `ProjectAccess.prefetch` then needs no query for the page's checks."""
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
    return with_granted(with_task_counts(with_creator(projects)), viewer).order_by("name", "id")


# What a list shows of a project's creator (`person` in the API, `get_full_name` on pages): the rest of the account,
# its password hash first, is not read.
CREATOR_FIELDS = ("id", "name", "email")


def with_creator(projects: QuerySet[Project]) -> QuerySet[Project]:
    """The creator joined into the same query, reading only `CREATOR_FIELDS` of the account."""
    unread = [f"created_by__{f.name}" for f in User._meta.concrete_fields if f.name not in CREATOR_FIELDS]
    return projects.select_related("created_by").defer(*unread)


# What the project list and the home page never show of a project.
PAGE_UNREAD = ("created_at",)


def project_page_for_user(
    viewer: Viewer,
    *,
    search: str = "",
    show: str = ProjectShow.ACTIVE,
    visibility: str = "",
    offset: int = 0,
    limit: int = 50,
) -> list[Project]:
    """One page of `project_list_for_user`, as a list: the same projects, creators, task counts and grants in the
    same one query. Without a search term the statement has a fixed shape per kind of viewer, filters and page, so
    it is compiled once per process and only the viewer's id is bound (`compiled_once`): a page then costs little
    more than PostgreSQL's answer."""
    if search.strip() or not viewer.is_member:
        return list(
            project_list_for_user(viewer, search=search, show=show, visibility=visibility)[offset : offset + limit]
        )
    key = ("project_page", viewer.is_workspace_admin, show, visibility, offset, limit)
    role = viewer.role

    def build(user_id: int) -> QuerySet[Project]:
        shape = Viewer(user=User(pk=user_id), role=role)
        return page_of(project_list_for_user(shape, show=show, visibility=visibility))

    def page_of(projects: QuerySet[Project]) -> QuerySet[Project]:
        return projects.defer(*PAGE_UNREAD)[offset : offset + limit]  # what the list and home pages show

    if viewer.is_workspace_admin:  # no grant is read: the statement has no viewer id
        return compiled_once(key, lambda: page_of(project_list_for_user(viewer, show=show, visibility=visibility)))
    assert viewer.user is not None  # noqa: S101  (a member)
    return compiled_once(key, build, viewer.user.pk)


@dataclass(frozen=True)
class ProjectListing:
    """The projects `viewer` may view under some filters, as a paginator's `object_list`: `count()` is one query and
    each page one more (`project_page_for_user`)."""

    viewer: Viewer
    search: str = ""
    show: str = ProjectShow.ACTIVE
    visibility: str = ""

    def count(self) -> int:
        return project_list_for_user(
            self.viewer, search=self.search, show=self.show, visibility=self.visibility
        ).count()

    def __len__(self) -> int:
        return self.count()

    def __iter__(self) -> Iterator[Project]:
        return iter(project_list_for_user(self.viewer, search=self.search, show=self.show, visibility=self.visibility))

    @overload
    def __getitem__(self, index: int) -> Project: ...

    @overload
    def __getitem__(self, index: slice) -> list[Project]: ...

    def __getitem__(self, index: int | slice) -> Project | list[Project]:
        if isinstance(index, int):
            return self[index : index + 1][0]
        if index.step is not None or (index.start or 0) < 0 or (index.stop is not None and index.stop < 0):
            raise TypeError("a project listing is read a page (a forward slice) at a time")
        start = index.start or 0
        stop = index.stop if index.stop is not None else start + 50
        return project_page_for_user(
            self.viewer,
            search=self.search,
            show=self.show,
            visibility=self.visibility,
            offset=start,
            limit=max(stop - start, 0),
        )


def with_task_counts(projects: QuerySet[Project]) -> QuerySet[Project]:
    """`open_task_count` and `done_task_count` on each project, as sub-selects of the same query."""
    return projects.annotate(open_task_count=_TaskCount(done=False), done_task_count=_TaskCount(done=True))


def project_get_for_user(viewer: Viewer, project_id: int, access: ProjectAccess | None = None) -> Project:
    """One project `viewer` may view (ProjectNotFound otherwise, and for another workspace's id: the schema is the
    workspace), with the viewer's grants on it read by the same query (into `access`, if given). One query."""
    project = (
        with_granted(with_task_counts(with_creator(Project.objects.all())), viewer).filter(pk=project_id).first()
        if 0 < project_id <= MAX_ID
        else None
    )
    if project is None:
        raise ProjectNotFound(gettext("There is no such project in this workspace."))
    (access or ProjectAccess(viewer)).prefetch([project]).require(ProjectPermission.VIEW, project)
    return project


def with_comment_counts(tasks: QuerySet[Task]) -> QuerySet[Task]:
    """`comment_count` on each task, as a sub-select of the same query."""
    comments = Comment.objects.filter(task=OuterRef("pk")).order_by().values("task").annotate(n=Count("*")).values("n")
    return tasks.annotate(comment_count=Coalesce(Subquery(comments, output_field=IntegerField()), Value(0)))


def task_list(project: Project) -> QuerySet[Task]:
    """A project's tasks in board order (column by column), with assignees, creators, labels and comment counts. Two
    queries (the caller — the API — may filter, order and slice it)."""
    tasks = Task.objects.filter(project=project).select_related("assignee", "created_by").prefetch_related("labels")
    return with_comment_counts(tasks).order_by("position", "id")


@dataclass(frozen=True)
class BoardFilter:
    """Which cards a board shows: by assignee ("me", "none", or a person's id), by label (an id) and by due date
    ("overdue", "week": due within seven days, "none": no due date). Empty: everything."""

    assignee: str = ""
    due: str = ""
    label: int | None = None

    DUES = (
        ("", gettext_lazy("Any due date")),
        ("overdue", gettext_lazy("Overdue")),
        ("week", gettext_lazy("Due within a week")),
        ("none", gettext_lazy("No due date")),
    )

    @classmethod
    def of(cls, query: Any) -> BoardFilter:
        assignee = str(query.get("assignee", ""))
        due = str(query.get("due", ""))
        label = str(query.get("label", ""))
        return cls(
            assignee=assignee if assignee in ("me", "none") or _is_id(assignee) else "",
            due=due if due in {d for d, _ in cls.DUES} else "",
            label=int(label) if _is_id(label) else None,
        )

    @property
    def active(self) -> bool:
        return bool(self.assignee or self.due or self.label)

    def apply(self, tasks: QuerySet[Task], *, viewer_id: int | None, today: dt.date) -> QuerySet[Task]:
        if self.assignee == "me":
            tasks = tasks.filter(assignee_id=viewer_id)
        elif self.assignee == "none":
            tasks = tasks.filter(assignee__isnull=True)
        elif self.assignee:
            tasks = tasks.filter(assignee_id=int(self.assignee))
        if self.due == "overdue":
            tasks = tasks.filter(due_date__lt=today).exclude(status=TaskStatus.DONE)
        elif self.due == "week":
            tasks = tasks.filter(due_date__gte=today, due_date__lte=today + dt.timedelta(days=7))
        elif self.due == "none":
            tasks = tasks.filter(due_date__isnull=True)
        if self.label is not None:
            tasks = tasks.filter(labels__pk=self.label)  # one label a task carries once: no duplicate rows
        return tasks


def _is_id(value: str) -> bool:
    """A path-style id: ASCII digits within PostgreSQL's bigint (anything else filters nothing)."""
    return value.isascii() and value.isdigit() and 0 < int(value) <= MAX_ID


def with_attachment_counts(tasks: QuerySet[Task]) -> QuerySet[Task]:
    """`attachment_count` on each task (its ready documents), as a sub-select of the same query."""
    documents = (
        Document.objects.filter(task=OuterRef("pk"), status=DocumentStatus.READY)
        .order_by()
        .values("task")
        .annotate(n=Count("*"))
        .values("n")
    )
    return tasks.annotate(attachment_count=Coalesce(Subquery(documents, output_field=IntegerField()), Value(0)))


def board_columns(
    project: Project, board_filter: BoardFilter | None = None, *, viewer_id: int | None = None
) -> dict[str, list[Task]]:
    """The board: each column's tasks in order, with assignees, labels, comment and attachment counts, and
    `is_overdue` (a due date before today on a task not done). Two queries (the tasks, then their labels)."""
    today = timezone.localdate()
    tasks = with_attachment_counts(
        with_comment_counts(Task.objects.filter(project=project).select_related("assignee").prefetch_related("labels"))
    ).order_by("position", "id")
    if board_filter is not None and board_filter.active:
        tasks = board_filter.apply(tasks, viewer_id=viewer_id, today=today)
    columns: dict[str, list[Task]] = {status: [] for status in TaskStatus.values}
    for task in tasks:
        task.is_overdue = task.due_date is not None and task.due_date < today and task.status != TaskStatus.DONE  # type: ignore[attr-defined]
        columns[task.status].append(task)
    return columns


def task_get(project: Project, task_id: int) -> Task:
    """A task of `project` (ProjectNotFound for any other id, including another project's task), with its comment
    count and labels. Two queries."""
    task = (
        with_comment_counts(Task.objects.select_related("assignee", "created_by").prefetch_related("labels"))
        .filter(pk=task_id, project=project)
        .first()
        if 0 < task_id <= MAX_ID
        else None
    )
    if task is None:
        raise ProjectNotFound(gettext("There is no such task in this project."))
    task.project = project
    return task


def label_list() -> QuerySet[Label]:
    """The workspace's labels by name (every member may see them: they are put on tasks of any project)."""
    return Label.objects.order_by("name", "id")


def label_list_with_counts() -> QuerySet[Label]:
    """The labels with `task_count`, for the settings page. One query."""
    return label_list().annotate(task_count=Count("tasks"))


def label_get(label_id: int) -> Label:
    label = Label.objects.filter(pk=label_id).first() if 0 < label_id <= MAX_ID else None
    if label is None:
        raise ProjectNotFound(gettext("There is no such label in this workspace."))
    return label


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
        if 0 < comment_id <= MAX_ID
        else None
    )
    if comment is None:
        raise ProjectNotFound(gettext("There is no such comment on this task."))
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
    via_groups: frozenset[str] = frozenset()  # codenames held through the groups they are in

    @property
    def group_level(self) -> AccessLevel | None:
        """The level their groups give them, when it is more than their own grant (the sharing page says so)."""
        through = level_of(self.via_groups)
        own = level_of(self.granted)
        order = list(AccessLevel)
        if through is None or (own is not None and order.index(own) >= order.index(through)):
            return None
        return through

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
        rows.append(
            ProjectMember(
                membership=membership,
                granted=frozenset(granted),
                permissions=held,
                via_groups=frozenset(via_groups.get(membership.user_id, set())),
            )
        )
    return rows


def project_group_levels(project: Project) -> dict[int, AccessLevel]:
    """Django group id → the level granted to that group on `project`. One query."""
    codes: dict[int, set[str]] = {}
    for group_id, codename in ProjectGroupObjectPermission.objects.filter(content_object=project).values_list(
        "group_id", "permission__codename"
    ):
        codes.setdefault(group_id, set()).add(codename)
    return {group_id: level for group_id, held in codes.items() if (level := level_of(held)) is not None}


@dataclass(frozen=True)
class ProjectGroup:
    """One of the workspace's groups as the sharing page and the API see it for one project."""

    group: WorkspaceGroup
    member_count: int
    level: AccessLevel | None


def project_groups(project: Project, *, tenant_id: int) -> list[ProjectGroup]:
    """Every group of the workspace (by name) with its member count and its level on `project` (None: no grant).
    Two queries, whatever the number of groups and members; a grant to a group that is gone matches nothing."""
    levels = project_group_levels(project)
    return [
        ProjectGroup(group=g, member_count=g.member_count, level=levels.get(g.group_id))  # type: ignore[attr-defined]
        for g in workspace_group_list(tenant_id=tenant_id)
    ]


def assignable_members(project: Project, *, tenant_id: int) -> list[ProjectMember]:
    """The people a task of `project` can be assigned to: members who may view it."""
    return [m for m in project_members(project, tenant_id=tenant_id) if m.can_view]


# --- documents ---------------------------------------------------------------------------------------------------


def document_list(project: Project, *, task: Task | None = None) -> QuerySet[Document]:
    """A project's documents (or one task's attachments) that finished uploading, newest first, with who uploaded
    each and the task it is attached to. One query; nothing is signed or generated here."""
    documents = Document.objects.filter(project=project, status=DocumentStatus.READY)
    if task is not None:
        documents = documents.filter(task=task)
    return documents.select_related("uploaded_by", "task").order_by("-created_at", "-id")


def document_get(project: Project, document_id: int, *, pending: bool = False) -> Document:
    """A document of `project` (ProjectNotFound for any other id, including another project's or workspace's).
    Pending uploads only when asked for (their confirmation). One query."""
    status = DocumentStatus.PENDING if pending else DocumentStatus.READY
    document = (
        Document.objects.select_related("uploaded_by", "task")
        .filter(pk=document_id, project=project, status=status)
        .first()
        if document_id <= MAX_ID
        else None
    )
    if document is None:
        raise ProjectNotFound(gettext("There is no such document in this project."))
    document.project = project
    return document


def stored_key(key: str, *, schema_name: str) -> str | None:
    """`key`, read from a row, when it names a file of the workspace being served (`schema_name`: the request's or
    the task's schema); None otherwise, with a warning in the log. A row naming another workspace's files (a doctored
    import, a bug) is never signed, read, deleted or counted, whatever its own `storage_prefix` says."""
    try:
        return key_in_workspace(key, workspace=schema_name)
    except KeyRefused:
        logger.warning("a stored key outside the workspace's prefix was not used", extra={"key": str(key)[:255]})
        return None


def document_download_url(document: Document, *, schema_name: str, attachment: bool = False) -> str:
    """Where to send someone to read `document` (got through `document_get`, so the project's view permission was
    checked): a URL signed for at most 60 seconds, inline for images and PDFs unless `attachment`, an attachment for
    everything else. A row whose key lies outside `schema_name`'s (the request's) prefix is not found.
    Signing is local: no query, no network call."""
    key = stored_key(document.key, schema_name=schema_name)
    if key is None:
        raise ProjectNotFound(gettext("There is no such document in this project."))
    file_type = ALLOWED.get(document.file_type)
    return files().sign_download(
        key,
        filename=document.name,
        content_type=file_type.content_type if file_type else "application/octet-stream",
        inline=bool(file_type and file_type.inline) and not attachment,
    )


def document_thumbnail_url(document: Document, *, schema_name: str, storage: TenantStorage | None = None) -> str:
    """A ready thumbnail's URL, signed for a page (no network call), or "" when there is none to show — including a
    thumbnail key outside `schema_name`'s prefix."""
    if document.thumbnail_status != ThumbnailStatus.READY or not document.thumbnail_key:
        return ""
    key = stored_key(document.thumbnail_key, schema_name=schema_name)
    if key is None:
        return ""
    return (storage or files()).sign_download(key, filename=document.name, content_type="image/webp", inline=True)
