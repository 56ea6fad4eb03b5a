"""Projects, their tasks (with moving and reordering) and the comments on tasks. Reads go through the product's
selectors, which hold only what the caller may see; writes through its services, which check the caller's permission
themselves; `ProjectAccess` answers what the caller may do with each project on a page without a query per row."""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from tenant_apps.api import serializers as s
from tenant_apps.api.filters import Ordering, ProjectFilter, TaskFilter
from tenant_apps.api.views.base import PROJECT_ID, TASK_ID, ApiViewSet, ProjectScoped, valid
from tenant_apps.projects import selectors, services
from tenant_apps.projects.models import Comment, Label, Project, Task
from tenant_apps.projects.permissions import AccessLevel, ProjectAccess, ProjectPermission, level_of
from tenant_apps.projects.selectors import ProjectShow


@extend_schema_view(
    list=extend_schema(summary="List the projects you can see", responses=s.ProjectOut(many=True)),
    create=extend_schema(summary="Create a project", request=s.ProjectCreate, responses={201: s.ProjectOut}),
    retrieve=extend_schema(summary="A project", responses=s.ProjectOut),
    partial_update=extend_schema(
        summary="Rename, describe or change who can see a project",
        description="Name and description need edit access; visibility needs manage access. All or nothing.",
        request=s.ProjectUpdate,
        responses=s.ProjectOut,
    ),
    destroy=extend_schema(
        summary="Delete a project with its tasks and comments",
        description="Needs manage access.",
        responses={204: None},
    ),
)
class ProjectViewSet(ApiViewSet):
    queryset = Project.objects.none()  # the selectors give the rows; this names the model for the schema
    filterset_class = ProjectFilter
    search_fields = ("name",)
    ordering_fields = ("name", "created_at", "updated_at")
    ordering = ("name", "id")

    def _one(self, project_id: int) -> Response:
        access = ProjectAccess(self.viewer())
        project = selectors.project_get_for_user(access.viewer, project_id, access)
        return Response(s.ProjectOut(project, context={"access": access}).data)

    def list(self, request: Request) -> Response:
        viewer = self.viewer()
        page = self.page_of(selectors.project_list_for_user(viewer, show=ProjectShow.ALL))
        access = ProjectAccess(viewer).prefetch(page)
        return self.get_paginated_response(s.ProjectOut(page, many=True, context={"access": access}).data)

    def create(self, request: Request) -> Response:
        data = valid(s.ProjectCreate, request)
        project = services.project_create(
            name=data["name"], description=data["description"], visibility=data["visibility"], acting_user=request.user
        )
        response = self._one(project.pk)
        response.status_code = status.HTTP_201_CREATED
        return response

    def retrieve(self, request: Request, pk: str) -> Response:
        return self._one(int(pk))

    def partial_update(self, request: Request, pk: str) -> Response:
        data = valid(s.ProjectUpdate, request)
        access = ProjectAccess(self.viewer())
        project = selectors.project_get_for_user(access.viewer, int(pk), access)
        with transaction.atomic():
            if "name" in data or "description" in data:
                services.project_update(
                    project=project,
                    name=data.get("name", project.name),
                    description=data.get("description", project.description),
                    acting_user=request.user,
                )
            if "visibility" in data:
                services.project_visibility_set(
                    project=project, visibility=data["visibility"], acting_user=request.user
                )
        return self._one(project.pk)

    def destroy(self, request: Request, pk: str) -> Response:
        access = ProjectAccess(self.viewer())
        project = selectors.project_get_for_user(access.viewer, int(pk), access)
        # The pages ask for the name typed out; here the request names the project by its id, on purpose.
        services.project_delete(project=project, confirm_name=project.name, acting_user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(summary="Archive a project (read-only until restored)", request=None, responses=s.ProjectOut)
    @action(detail=True, methods=["post"])
    def archive(self, request: Request, pk: str) -> Response:
        access = ProjectAccess(self.viewer())
        project = selectors.project_get_for_user(access.viewer, int(pk), access)
        services.project_archive(project=project, acting_user=request.user)
        return self._one(project.pk)

    @extend_schema(summary="Restore an archived project", request=None, responses=s.ProjectOut)
    @action(detail=True, methods=["post"])
    def restore(self, request: Request, pk: str) -> Response:
        access = ProjectAccess(self.viewer())
        project = selectors.project_get_for_user(access.viewer, int(pk), access)
        services.project_restore(project=project, acting_user=request.user)
        return self._one(project.pk)


# A position past the end of any column: "to the bottom".
BOTTOM = s.POSITION_MAX


@extend_schema_view(
    list=extend_schema(
        summary="A project's tasks",
        description="Board order by default (`position`); filter by column, assignee, due date; search titles.",
        parameters=[PROJECT_ID],
        responses=s.TaskOut(many=True),
    ),
    create=extend_schema(
        summary="Add a task (at the bottom of its column)",
        parameters=[PROJECT_ID],
        request=s.TaskCreate,
        responses={201: s.TaskOut},
    ),
    retrieve=extend_schema(summary="A task", parameters=[PROJECT_ID], responses=s.TaskOut),
    partial_update=extend_schema(
        summary="Edit a task",
        description="Title, description, assignee, due date, labels; `status` moves it to the bottom of another "
        "column (use `move` to pick the place). All or nothing.",
        parameters=[PROJECT_ID],
        request=s.TaskUpdate,
        responses=s.TaskOut,
    ),
    destroy=extend_schema(summary="Delete a task", parameters=[PROJECT_ID], responses={204: None}),
)
class TaskViewSet(ProjectScoped):
    queryset = Task.objects.none()
    filterset_class = TaskFilter
    search_fields = ("title",)
    ordering_fields = ("position", "due_date", "created_at", "updated_at", "title")
    ordering = ("position", "id")

    def _one(self, project: Project, task_id: int) -> Response:
        return Response(s.TaskOut(selectors.task_get(project, task_id)).data)

    def list(self, request: Request, project_id: str) -> Response:
        project, _access = self.project()
        page = self.page_of(selectors.task_list(project))
        return self.get_paginated_response(s.TaskOut(page, many=True).data)

    def create(self, request: Request, project_id: str) -> Response:
        data = valid(s.TaskCreate, request)
        project, _access = self.project()
        task = services.task_create(
            project=project,
            title=data["title"],
            description=data["description"],
            status=data["status"],
            assignee_id=data["assignee"],
            due_date=data["due_date"],
            acting_user=request.user,
        )
        response = self._one(project, task.pk)
        response.status_code = status.HTTP_201_CREATED
        return response

    def retrieve(self, request: Request, project_id: str, pk: str) -> Response:
        project, _access = self.project()
        return self._one(project, int(pk))

    def partial_update(self, request: Request, project_id: str, pk: str) -> Response:
        project, _access = self.project()
        task = selectors.task_get(project, int(pk))  # first: another workspace's ids are not found, whatever the body
        data = valid(s.TaskUpdate, request)
        with transaction.atomic():
            if {"title", "description", "assignee", "due_date"} & set(data):
                services.task_update(
                    task=task,
                    title=data.get("title", task.title),
                    description=data.get("description", task.description),
                    assignee_id=data.get("assignee", task.assignee_id),
                    due_date=data.get("due_date", task.due_date),
                    acting_user=request.user,
                )
            if "labels" in data:
                services.task_labels_set(task=task, label_ids=data["labels"], acting_user=request.user)
            if "status" in data and data["status"] != task.status:
                services.task_move(task=task, status=data["status"], position=BOTTOM, acting_user=request.user)
        return self._one(project, task.pk)

    def destroy(self, request: Request, project_id: str, pk: str) -> Response:
        project, _access = self.project()
        services.task_delete(task=selectors.task_get(project, int(pk)), acting_user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Move a task: another column, another place, or both",
        description="The column is renumbered in one step: the order persists and concurrent moves queue up.",
        parameters=[PROJECT_ID],
        request=s.TaskMove,
        responses=s.TaskOut,
    )
    @action(detail=True, methods=["post"])
    def move(self, request: Request, project_id: str, pk: str) -> Response:
        data = valid(s.TaskMove, request)
        project, _access = self.project()
        task = selectors.task_get(project, int(pk))
        services.task_move(task=task, status=data["status"], position=data["position"], acting_user=request.user)
        return self._one(project, task.pk)


@extend_schema_view(
    list=extend_schema(
        summary="A task's comments, oldest first", parameters=[PROJECT_ID, TASK_ID], responses=s.CommentOut(many=True)
    ),
    create=extend_schema(
        summary="Comment on a task",
        parameters=[PROJECT_ID, TASK_ID],
        request=s.CommentIn,
        responses={201: s.CommentOut},
    ),
    retrieve=extend_schema(summary="A comment", parameters=[PROJECT_ID, TASK_ID], responses=s.CommentOut),
    partial_update=extend_schema(
        summary="Edit your comment", parameters=[PROJECT_ID, TASK_ID], request=s.CommentIn, responses=s.CommentOut
    ),
    destroy=extend_schema(
        summary="Delete a comment",
        description="Yours, or anyone's on a project you manage.",
        parameters=[PROJECT_ID, TASK_ID],
        responses={204: None},
    ),
)
class CommentViewSet(ProjectScoped):
    queryset = Comment.objects.none()
    filter_backends = (Ordering,)
    ordering_fields = ("created_at",)
    ordering = ("created_at", "id")
    http_method_names = ["get", "post", "patch", "delete", "head"]

    def list(self, request: Request, project_id: str, task_id: str) -> Response:
        project, _access = self.project()
        page = self.page_of(selectors.comment_list(self.task(project)))
        return self.get_paginated_response(s.CommentOut(page, many=True).data)

    def create(self, request: Request, project_id: str, task_id: str) -> Response:
        data = valid(s.CommentIn, request)
        project, _access = self.project()
        comment = services.comment_create(task=self.task(project), body=data["body"], acting_user=request.user)
        return Response(s.CommentOut(comment).data, status=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, project_id: str, task_id: str, pk: str) -> Response:
        project, _access = self.project()
        return Response(s.CommentOut(selectors.comment_get(self.task(project), int(pk))).data)

    def partial_update(self, request: Request, project_id: str, task_id: str, pk: str) -> Response:
        data = valid(s.CommentIn, request)
        project, _access = self.project()
        task = self.task(project)
        comment = selectors.comment_get(task, int(pk))
        comment.task = task
        comment = services.comment_edit(comment=comment, body=data["body"], acting_user=request.user)
        return Response(s.CommentOut(comment).data)

    def destroy(self, request: Request, project_id: str, task_id: str, pk: str) -> Response:
        project, _access = self.project()
        task = self.task(project)
        comment = selectors.comment_get(task, int(pk))
        comment.task = task
        services.comment_delete(comment=comment, acting_user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SharingViewSet(ProjectScoped):
    """Who has access to a project: its visibility, each member's level and each group's. Reading it needs manage
    access, like the sharing page; changes go through the same services (`project_share`, `project_group_share`,
    `project_visibility_set`)."""

    pagination_class = None
    filter_backends = ()
    http_method_names = ["get", "patch", "head"]

    def _sharing(self, project: Project, access: ProjectAccess) -> Response:
        access.require(ProjectPermission.MANAGE, project)
        me = self.request.user.pk
        members = [
            {
                "user": s.person(m.membership.user),
                "role": m.membership.role,
                "level": level_of(m.granted),
                "permissions": [name for p, name in s.PERMISSION_NAMES.items() if p in m.permissions],
                "editable": not m.is_workspace_admin and m.membership.user_id != me,
            }
            for m in selectors.project_members(project, tenant_id=self.workspace_id())
        ]
        groups = [
            {"id": str(g.group.scim_id), "name": g.group.display_name, "members": g.member_count, "level": g.level}
            for g in selectors.project_groups(project, tenant_id=self.workspace_id())
        ]
        body = {"project": project.pk, "visibility": project.visibility, "members": members, "groups": groups}
        return Response(body)

    @extend_schema(summary="Who has access to a project", parameters=[PROJECT_ID], responses=s.Sharing)
    def retrieve(self, request: Request, project_id: str) -> Response:
        return self._sharing(*self.project())

    @extend_schema(
        summary="Share a project: members' and groups' levels and its visibility",
        description="Needs manage access. `grants` sets each listed member's level (`view`, `change`, `manage`, or "
        "null to take it away); owners and admins hold everything already and are left as they are; your own "
        "level is not yours to change. `groups` does the same for the workspace's groups (their members hold the "
        "level while they are in the group). All or nothing; each change is an audit entry.",
        parameters=[PROJECT_ID],
        request=s.SharingUpdate,
        responses=s.Sharing,
    )
    def partial_update(self, request: Request, project_id: str) -> Response:
        data = valid(s.SharingUpdate, request)
        project, access = self.project()
        levels = {
            entry["user"]: AccessLevel(entry["level"]) if entry["level"] else None for entry in data.get("grants", [])
        }
        group_levels = {
            entry["group"]: AccessLevel(entry["level"]) if entry["level"] else None for entry in data.get("groups", [])
        }
        with transaction.atomic():
            if levels:
                services.project_share(project=project, levels=levels, acting_user=request.user)
            if group_levels:
                services.project_group_share(project=project, levels=group_levels, acting_user=request.user)
            if "visibility" in data:
                project = services.project_visibility_set(
                    project=project, visibility=data["visibility"], acting_user=request.user
                )
        return self._sharing(project, access)


@extend_schema_view(
    list=extend_schema(
        summary="The workspace's labels, oldest first",
        description="Put them on tasks with `labels` when editing a task; owners and admins manage them in Settings.",
        responses=s.LabelOut(many=True),
    ),
)
class LabelViewSet(ApiViewSet):
    queryset = Label.objects.none()
    filter_backends = ()  # at most 100 labels: no search, filter or ordering, pages in creation order
    ordering = ("id",)

    def list(self, request: Request) -> Response:
        page = self.page_of(selectors.label_list())
        return self.get_paginated_response(s.LabelOut(page, many=True).data)
