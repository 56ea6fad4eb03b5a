"""The workspace product (tenant schema): projects, their tasks and the comments on tasks, and who a project is
shared with.

Sharing is django-guardian's object permissions on *direct* foreign keys: `ProjectUserObjectPermission` and
`ProjectGroupObjectPermission` point at `Project` with a real FK (integer joins, ON DELETE CASCADE), never through
guardian's generic `object_pk` varchar, so no grant can outlive its project or match a reused id. Tasks and comments
have no grants of their own: they follow their project (`tenant_apps/projects/permissions.py` decides).

References from here to public tables (people, permissions, groups) are columns without a database constraint
(`tenants.references.public_reference`): a constraint would put two triggers on the public table for every
workspace (tens of thousands on the user table at 10,000 workspaces, loaded by every connection that reads it, and
every new workspace would rewrite them all). Accounts are deactivated, never deleted, so these ids stay valid; the
nullable ones are read with LEFT JOINs, and an import re-links them. Nor do they have single-column indexes: nothing
looks a workspace's rows up by who created them, and the lookups by person that exist (open tasks assigned to
someone, a person's grants) have composite indexes of their own. Each index is one more relation in every schema to
create, and for the planner to open the first time a connection reads the table.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from shared_apps.accounts.models import User
from shared_apps.storage.fields import StorageKeyField, StoragePrefixField
from tenants.references import person_reference, public_reference

# Who did something: an account, or nobody (see the module docstring).
Person = models.ForeignKey["User | None", "User | None"]

NAME_MAX_LENGTH = 120
TITLE_MAX_LENGTH = 200
TEXT_MAX_LENGTH = 10_000


class Visibility(models.TextChoices):
    WORKSPACE = "workspace", _("Everyone in the workspace")
    PRIVATE = "private", _("Only people it is shared with")


class Project(models.Model):
    name = models.CharField(max_length=NAME_MAX_LENGTH)
    description = models.TextField(blank=True)
    visibility = models.CharField(max_length=16, choices=Visibility.choices, default=Visibility.WORKSPACE)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_by: Person = person_reference()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering: ClassVar = ["name", "id"]
        # view_project and change_project are Django's defaults; manage_project is sharing, archiving, deleting.
        permissions: ClassVar = [("manage_project", "Can share, archive and delete the project")]
        indexes: ClassVar = [
            # the list pages: active projects by name, archived ones by name
            models.Index(fields=["name", "id"], condition=Q(archived_at__isnull=True), name="project_active_name"),
            models.Index(fields=["name", "id"], condition=Q(archived_at__isnull=False), name="project_archived_name"),
            # a member's list: "every project open to the workspace" is one arm of the visibility check
            models.Index(fields=["visibility"], name="project_visibility"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def is_private(self) -> bool:
        return self.visibility == Visibility.PRIVATE


class ProjectUserObjectPermission(UserObjectPermissionBase):
    """A permission on one project granted to one person (guardian finds this model by its `content_object` FK)."""

    content_object = models.ForeignKey(
        Project,
        on_delete=models.CASCADE,
        related_name="user_grants",
        db_index=False,  # indexed below, first
    )
    # guardian's own columns, without a database constraint into the public schema (see the module's docstring)
    user: models.ForeignKey[User, User] = public_reference(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    permission: models.ForeignKey[Permission, Permission] = public_reference(Permission, on_delete=models.CASCADE)

    class Meta(UserObjectPermissionBase.Meta):
        abstract = False
        # unique (user, permission, content_object) comes from the base and serves "this person's grants";
        # this one serves "who has access to this project" (the sharing page).
        indexes: ClassVar = [models.Index(fields=["content_object", "user"], name="project_user_grant_project")]

    def __str__(self) -> str:
        return f"{self.permission_id} on project {self.content_object_id} for user {self.user_id}"


class ProjectGroupObjectPermission(GroupObjectPermissionBase):
    """A permission on one project granted to a group (every member of the group holds it)."""

    content_object = models.ForeignKey(
        Project,
        on_delete=models.CASCADE,
        related_name="group_grants",
        db_index=False,  # indexed below, first
    )
    group: models.ForeignKey[Group, Group] = public_reference(Group, on_delete=models.CASCADE)
    permission: models.ForeignKey[Permission, Permission] = public_reference(Permission, on_delete=models.CASCADE)

    class Meta(GroupObjectPermissionBase.Meta):
        abstract = False
        indexes: ClassVar = [models.Index(fields=["content_object", "group"], name="project_group_grant_project")]

    def __str__(self) -> str:
        return f"{self.permission_id} on project {self.content_object_id} for group {self.group_id}"


class TaskStatus(models.TextChoices):
    TODO = "todo", _("To do")
    DOING = "doing", _("Doing")
    DONE = "done", _("Done")


LABEL_NAME_MAX_LENGTH = 40


class LabelColor(models.TextChoices):
    """A label's colour: a fixed palette (each has a light and a dark shade in the stylesheet that keep text AA)."""

    GRAY = "gray", _("Gray")
    RED = "red", _("Red")
    ORANGE = "orange", _("Orange")
    YELLOW = "yellow", _("Yellow")
    GREEN = "green", _("Green")
    TEAL = "teal", _("Teal")
    BLUE = "blue", _("Blue")
    PURPLE = "purple", _("Purple")
    PINK = "pink", _("Pink")


class Label(models.Model):
    """A workspace's label (managed by its admins), put on tasks of any project. Names are unique in any case."""

    name = models.CharField(max_length=LABEL_NAME_MAX_LENGTH)
    color = models.CharField(max_length=8, choices=LabelColor.choices, default=LabelColor.GRAY)
    created_by: Person = person_reference()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering: ClassVar = ["name", "id"]
        constraints: ClassVar = [models.UniqueConstraint(Lower("name"), name="label_name_unique")]

    def __str__(self) -> str:
        return self.name


class Task(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="tasks", db_index=False)  # task_board
    title = models.CharField(max_length=TITLE_MAX_LENGTH)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=8, choices=TaskStatus.choices, default=TaskStatus.TODO)
    assignee: Person = person_reference()
    due_date = models.DateField(null=True, blank=True)
    position = models.IntegerField(default=0, help_text="Order inside its column, smallest first.")
    labels = models.ManyToManyField(Label, related_name="tasks", blank=True)
    version = models.PositiveIntegerField(
        default=0, help_text="Bumped by every change to what the task page edits: a save names the version it saw."
    )
    created_by: Person = person_reference()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering: ClassVar = ["position", "id"]
        indexes: ClassVar = [
            # the board: a project's columns in order
            models.Index(fields=["project", "status", "position", "id"], name="task_board"),
            # the home page: open tasks assigned to someone
            models.Index(fields=["assignee", "due_date"], condition=~Q(status="done"), name="task_open_assigned"),
        ]

    def __str__(self) -> str:
        return self.title


class Comment(models.Model):
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="comments", db_index=False)  # thread index
    author: Person = person_reference()
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["created_at", "id"]
        # a task's discussion, oldest first
        indexes: ClassVar = [models.Index(fields=["task", "created_at", "id"], name="comment_task_thread")]

    def __str__(self) -> str:
        return f"Comment {self.pk} on task {self.task_id}"


class DocumentStatus(models.TextChoices):
    PENDING = "pending", _("Uploading")  # signed for a direct upload, not confirmed yet: shown to nobody
    READY = "ready", _("Ready")


class ThumbnailStatus(models.TextChoices):
    NONE = "none", _("No thumbnail")  # not an image
    PENDING = "pending", _("Making a thumbnail")
    READY = "ready", _("Thumbnail ready")
    FAILED = "failed", _("No thumbnail (could not be made)")


class Document(models.Model):
    """A file of a project, optionally attached to one of its tasks. Its bytes live in storage at `key`, under the
    workspace's prefix as it was when the file was saved (`storage_prefix`, kept in the row, never worked out again
    from the connection); downloads go through a view that checks the project's permissions, then signs a URL. The
    key is used only once `keys.key_in_workspace` has found it under the prefix of the workspace being served."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="documents", db_index=False)
    task = models.ForeignKey(Task, null=True, blank=True, on_delete=models.CASCADE, related_name="documents")
    storage_prefix = StoragePrefixField(max_length=63)
    key = StorageKeyField(max_length=255, unique=True)
    thumbnail_key = StorageKeyField(max_length=255, blank=True)
    name = models.CharField(max_length=200, help_text="The file's name as uploaded, cleaned; shown and downloaded as.")
    file_type = models.CharField(max_length=16, help_text="What the bytes are (the upload check's allow-list code).")
    content_type = models.CharField(max_length=120)
    size = models.BigIntegerField()
    thumbnail_size = models.BigIntegerField(default=0)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=DocumentStatus.choices, default=DocumentStatus.READY)
    thumbnail_status = models.CharField(max_length=8, choices=ThumbnailStatus.choices, default=ThumbnailStatus.NONE)
    uploaded_by: Person = person_reference()
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["-created_at", "-id"]
        indexes: ClassVar = [
            # the documents tab: a project's ready documents, newest first
            models.Index(fields=["project", "status", "-created_at", "-id"], name="document_project_list"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_image(self) -> bool:
        return self.file_type in ("png", "jpg", "gif", "webp")
