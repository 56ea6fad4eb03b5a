"""What goes in and comes out. Serializers check the shape of input (types, lengths, choices) and render objects;
the rules (who may, what is allowed, what a name may contain) are the services' and the permission module's."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from shared_apps.accounts.models import Invitation, Membership, Role, User
from shared_apps.accounts.representations import invitation_data, member_data, person
from tenant_apps.audit.events import SUBSCRIBABLE
from tenant_apps.projects.models import (
    NAME_MAX_LENGTH,
    TEXT_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    Comment,
    Document,
    Label,
    Project,
    Task,
    TaskStatus,
    Visibility,
)
from tenant_apps.projects.permissions import AccessLevel, ProjectAccess, ProjectPermission
from tenant_apps.projects.representations import comment_data, document_data, label_data, project_data, task_data
from tenant_apps.projects.selectors import MAX_ID
from tenant_apps.projects.services.labels import TASK_LABELS_MAX
from tenant_apps.webhooks.models import DESCRIPTION_MAX_LENGTH, URL_MAX_LENGTH, Attempt, Delivery, Endpoint

# A position past the end of any column: "to the bottom".
POSITION_MAX = 1_000_000


class ErrorDetail(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, for programs: not_found, invalid, permission_denied, …")
    message = serializers.CharField(help_text="For people.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Each input field with its problems (400 only; empty otherwise).",
    )


class Error(serializers.Serializer):
    error = ErrorDetail()


# Lists render up to 200 rows with nested people: the output serializers below declare their fields (for the OpenAPI
# document and for anyone reading) and render them with one plain function each, which is several times faster than
# DRF's field-by-field walk and gives the same JSON.


class Person(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ("id", "name", "email")
        read_only_fields = fields

    def to_representation(self, instance: User) -> dict[str, Any] | None:
        return person(instance)


# --- projects ------------------------------------------------------------------------------------------------------

PERMISSION_NAMES = {
    ProjectPermission.VIEW: "view",
    ProjectPermission.CHANGE: "change",
    ProjectPermission.MANAGE: "manage",
}


class ProjectOut(serializers.ModelSerializer):
    created_by = Person(allow_null=True)
    archived = serializers.SerializerMethodField()
    open_task_count = serializers.SerializerMethodField()
    done_task_count = serializers.SerializerMethodField()
    permissions = serializers.SerializerMethodField(
        help_text="What you may do with the project: view; change (edit, tasks, comments); manage (share, archive)."
    )

    class Meta:
        model = Project
        fields = (
            "id",
            "name",
            "description",
            "visibility",
            "archived",
            "archived_at",
            "created_by",
            "created_at",
            "updated_at",
            "open_task_count",
            "done_task_count",
            "permissions",
        )
        read_only_fields = fields

    def to_representation(self, project: Project) -> dict[str, Any]:
        return {**project_data(project), "permissions": self.get_permissions(project)}

    def get_archived(self, project: Project) -> bool:
        return project.is_archived

    def get_open_task_count(self, project: Project) -> int:
        return int(getattr(project, "open_task_count", 0))

    def get_done_task_count(self, project: Project) -> int:
        return int(getattr(project, "done_task_count", 0))

    def get_permissions(self, project: Project) -> list[str]:
        access: ProjectAccess = self.context["access"]
        held = access.permissions(project)
        return [name for permission, name in PERMISSION_NAMES.items() if permission in held]


class ProjectCreate(serializers.Serializer):
    name = serializers.CharField(max_length=NAME_MAX_LENGTH)
    description = serializers.CharField(max_length=TEXT_MAX_LENGTH, allow_blank=True, required=False, default="")
    visibility = serializers.ChoiceField(choices=Visibility.choices, required=False, default=Visibility.WORKSPACE)


class ProjectUpdate(serializers.Serializer):
    name = serializers.CharField(max_length=NAME_MAX_LENGTH, required=False)
    description = serializers.CharField(max_length=TEXT_MAX_LENGTH, allow_blank=True, required=False)
    visibility = serializers.ChoiceField(choices=Visibility.choices, required=False)


# --- tasks ---------------------------------------------------------------------------------------------------------


class LabelOut(serializers.ModelSerializer):
    class Meta:
        model = Label
        fields = ("id", "name", "color")
        read_only_fields = fields

    def to_representation(self, label: Label) -> dict[str, Any]:
        return label_data(label)


class TaskOut(serializers.ModelSerializer):
    project = serializers.IntegerField(source="project_id")
    assignee = Person(allow_null=True)
    created_by = Person(allow_null=True)
    comment_count = serializers.SerializerMethodField()
    labels = LabelOut(many=True, help_text="The workspace's labels the task carries.")

    class Meta:
        model = Task
        fields = (
            "id",
            "project",
            "title",
            "description",
            "status",
            "position",
            "assignee",
            "due_date",
            "created_by",
            "created_at",
            "updated_at",
            "comment_count",
            "labels",
        )
        read_only_fields = fields

    def to_representation(self, task: Task) -> dict[str, Any]:
        return task_data(task)

    def get_comment_count(self, task: Task) -> int:
        return int(getattr(task, "comment_count", 0))


def _id_field(**kwargs: Any) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


class TaskCreate(serializers.Serializer):
    title = serializers.CharField(max_length=TITLE_MAX_LENGTH)
    description = serializers.CharField(max_length=TEXT_MAX_LENGTH, allow_blank=True, required=False, default="")
    status = serializers.ChoiceField(choices=TaskStatus.choices, required=False, default=TaskStatus.TODO)
    assignee = _id_field(allow_null=True, required=False, default=None, help_text="A member's user id.")
    due_date = serializers.DateField(allow_null=True, required=False, default=None)


class TaskUpdate(serializers.Serializer):
    title = serializers.CharField(max_length=TITLE_MAX_LENGTH, required=False)
    description = serializers.CharField(max_length=TEXT_MAX_LENGTH, allow_blank=True, required=False)
    assignee = _id_field(allow_null=True, required=False, help_text="A member's user id, or null.")
    due_date = serializers.DateField(allow_null=True, required=False)
    status = serializers.ChoiceField(
        choices=TaskStatus.choices, required=False, help_text="Another column: the task goes to its bottom."
    )
    labels = serializers.ListField(
        child=_id_field(),
        max_length=TASK_LABELS_MAX,
        required=False,
        help_text="Every label the task should carry (ids from /api/v1/labels/); [] takes them all off.",
    )


class TaskMove(serializers.Serializer):
    status = serializers.ChoiceField(choices=TaskStatus.choices, help_text="The column.")
    position = serializers.IntegerField(
        min_value=0,
        max_value=POSITION_MAX,
        help_text="The place in the column: 0 is the top; past the end, the bottom.",
    )


# --- comments ------------------------------------------------------------------------------------------------------


class CommentOut(serializers.ModelSerializer):
    task = serializers.IntegerField(source="task_id")
    author = Person(allow_null=True)

    class Meta:
        model = Comment
        fields = ("id", "task", "author", "body", "created_at", "edited_at")
        read_only_fields = fields

    def to_representation(self, comment: Comment) -> dict[str, Any]:
        return comment_data(comment)


class CommentIn(serializers.Serializer):
    body = serializers.CharField(max_length=TEXT_MAX_LENGTH)


# --- documents -----------------------------------------------------------------------------------------------------


class DocumentOut(serializers.ModelSerializer):
    project = serializers.IntegerField(source="project_id")
    task = serializers.IntegerField(source="task_id", allow_null=True, help_text="The task it is attached to, if any.")
    uploaded_by = Person(allow_null=True)
    thumbnail = serializers.BooleanField(help_text="Whether an image's preview is ready.")

    class Meta:
        model = Document
        fields = (
            "id",
            "project",
            "task",
            "name",
            "file_type",
            "content_type",
            "size",
            "width",
            "height",
            "status",
            "thumbnail",
            "uploaded_by",
            "created_at",
            "confirmed_at",
        )
        read_only_fields = fields

    def to_representation(self, document: Document) -> dict[str, Any]:
        return document_data(document)


class UploadStart(serializers.Serializer):
    name = serializers.CharField(max_length=1000, help_text="The file's name, with its extension.")
    size = serializers.IntegerField(min_value=0, max_value=MAX_ID, help_text="Its exact size in bytes.")
    task = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, allow_null=True, required=False, default=None, help_text="Attach it to a task."
    )


class SignedUpload(serializers.Serializer):
    method = serializers.ChoiceField(choices=[("POST", "POST")], help_text="Always a multipart POST.")
    url = serializers.CharField(help_text="Where to POST the file.")
    fields = serializers.DictField(
        child=serializers.CharField(), help_text="Form fields to send first, exactly as given; then the file as `file`."
    )
    expires_at = serializers.IntegerField(help_text="POSIX time after which storage refuses the form.")
    max_bytes = serializers.IntegerField(help_text="The exact size signed for.")


class UploadStarted(serializers.Serializer):
    document = DocumentOut(help_text="The document, pending until confirmed; seen by nobody meanwhile.")
    upload = SignedUpload()
    confirm = serializers.CharField(help_text="POST here once storage has the file.")
    cancel = serializers.CharField(help_text="POST here to give up (its bytes and reservation go).")


class DownloadRedirect(serializers.Serializer):
    url = serializers.CharField(help_text="The file, signed for a minute (the same as `Location`).")


# --- sharing -------------------------------------------------------------------------------------------------------

LEVEL_CHOICES = [(level.value, level.label) for level in AccessLevel]


class ShareEntry(serializers.Serializer):
    user = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="A member's user id.")
    level = serializers.ChoiceField(choices=LEVEL_CHOICES, allow_null=True, help_text="null: take their grant away.")


class GroupShareEntry(serializers.Serializer):
    group = serializers.UUIDField(help_text="A group's id (its SCIM id, as `groups` lists it).")
    level = serializers.ChoiceField(choices=LEVEL_CHOICES, allow_null=True, help_text="null: take its grant away.")


class SharingUpdate(serializers.Serializer):
    visibility = serializers.ChoiceField(choices=Visibility.choices, required=False)
    grants = ShareEntry(many=True, required=False, max_length=500, help_text="Levels to set, one entry per member.")
    groups = GroupShareEntry(
        many=True, required=False, max_length=500, help_text="Levels to set, one entry per group of the workspace."
    )


class SharingMember(serializers.Serializer):
    user = Person()
    role = serializers.ChoiceField(choices=Role.choices)
    level = serializers.ChoiceField(
        choices=LEVEL_CHOICES, allow_null=True, help_text="Their grant on this project (null: none)."
    )
    permissions = serializers.ListField(child=serializers.CharField(), help_text="What they may do, all rules applied.")
    editable = serializers.BooleanField(
        help_text="Whether their grant can be changed here (not yours; owners and admins hold everything anyway)."
    )


class SharingGroup(serializers.Serializer):
    id = serializers.UUIDField(help_text="The group's id (its SCIM id).")
    name = serializers.CharField(help_text="Its display name, as the identity provider wrote it.")
    members = serializers.IntegerField(help_text="How many members of the workspace are in it (and hold its grant).")
    level = serializers.ChoiceField(
        choices=LEVEL_CHOICES, allow_null=True, help_text="Its grant on this project (null: none)."
    )


class Sharing(serializers.Serializer):
    project = serializers.IntegerField()
    visibility = serializers.ChoiceField(choices=Visibility.choices)
    members = SharingMember(many=True)
    groups = SharingGroup(many=True, help_text="Every group of the workspace (its identity provider's, by SCIM).")


# --- members and invitations ---------------------------------------------------------------------------------------


class MemberOut(serializers.ModelSerializer):
    user = Person()
    joined_at = serializers.DateTimeField(source="created_at")
    mfa_enabled = serializers.SerializerMethodField(help_text="Shown to owners and admins only (null otherwise).")

    class Meta:
        model = Membership
        fields = ("id", "user", "role", "joined_at", "mfa_enabled")
        read_only_fields = fields

    def to_representation(self, membership: Membership) -> dict[str, Any]:
        return member_data(membership, mfa_enabled=self.get_mfa_enabled(membership))

    def get_mfa_enabled(self, membership: Membership) -> bool | None:
        if not self.context.get("show_security"):
            return None
        return bool(getattr(membership, "mfa_enabled", False))


class MemberUpdate(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)


class InvitationOut(serializers.ModelSerializer):
    invited_by = Person(allow_null=True)
    status = serializers.ChoiceField(choices=Invitation.Status.choices)
    sent = serializers.SerializerMethodField(help_text="Whether its email has gone out.")

    class Meta:
        model = Invitation
        fields = ("id", "email", "role", "status", "invited_by", "created_at", "expires_at", "sent")
        read_only_fields = fields

    def get_sent(self, invitation: Invitation) -> bool:
        return invitation.sent_at is not None

    def to_representation(self, invitation: Invitation) -> dict[str, Any]:
        return invitation_data(invitation)


class InvitationCreate(serializers.Serializer):
    emails = serializers.ListField(
        child=serializers.EmailField(max_length=254), min_length=1, max_length=50, help_text="1 to 50 addresses."
    )
    role = serializers.ChoiceField(choices=Role.choices, required=False, default=Role.MEMBER)


class InvitationsCreated(serializers.Serializer):
    sent = InvitationOut(many=True, help_text="New invitations, and expired ones sent again.")
    already_members = serializers.ListField(child=serializers.EmailField())
    already_invited = serializers.ListField(child=serializers.EmailField(), help_text="Still valid: nothing sent.")


# --- me --------------------------------------------------------------------------------------------------------------


class Workspace(serializers.Serializer):
    name = serializers.CharField()
    host = serializers.CharField()


class Auth(serializers.Serializer):
    method = serializers.ChoiceField(choices=[("key", "API key"), ("session", "Session")])
    scope = serializers.ChoiceField(choices=[("read", "Read only"), ("write", "Read and write")])
    key_prefix = serializers.CharField(allow_blank=True, help_text="The key's first characters (keys only).")


class Me(serializers.Serializer):
    user = Person()
    role = serializers.ChoiceField(choices=Role.choices)
    workspace = Workspace()
    auth = Auth()
    allowed_actions = serializers.ListField(
        child=serializers.CharField(), help_text="Workspace actions your role allows (the permission matrix)."
    )


# --- webhooks --------------------------------------------------------------------------------------------------------


class WebhookOut(serializers.ModelSerializer):
    class Meta:
        model = Endpoint
        fields: tuple[str, ...] = (
            "id",
            "url",
            "description",
            "event_types",
            "enabled",
            "disabled_reason",
            "failing_since",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields


class WebhookCreated(WebhookOut):
    secret = serializers.CharField(help_text="The signing secret (whsec_…): shown in this answer only.")

    class Meta(WebhookOut.Meta):
        fields = (*WebhookOut.Meta.fields, "secret")
        read_only_fields = fields


class WebhookIn(serializers.Serializer):
    url = serializers.CharField(max_length=URL_MAX_LENGTH, help_text="https only.")
    description = serializers.CharField(max_length=DESCRIPTION_MAX_LENGTH, allow_blank=True, required=False, default="")
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=SUBSCRIBABLE),
        required=False,
        default=list,
        help_text="The event types it receives; empty: every type.",
    )
    enabled = serializers.BooleanField(required=False, default=True)


class WebhookUpdate(serializers.Serializer):
    url = serializers.CharField(max_length=URL_MAX_LENGTH, required=False)
    description = serializers.CharField(max_length=DESCRIPTION_MAX_LENGTH, allow_blank=True, required=False)
    event_types = serializers.ListField(child=serializers.ChoiceField(choices=SUBSCRIBABLE), required=False)
    enabled = serializers.BooleanField(required=False)


class WebhookSecret(serializers.Serializer):
    secret = serializers.CharField(help_text="The new signing secret, shown in this answer only.")
    previous_valid_until = serializers.DateTimeField(help_text="The previous secret signs too until then.")


class AttemptOut(serializers.ModelSerializer):
    class Meta:
        model = Attempt
        fields = ("number", "started_at", "duration_ms", "response_status", "response_body", "error")
        read_only_fields = fields


class DeliveryOut(serializers.ModelSerializer):
    event_id = serializers.CharField(source="event.event_id")
    event_type = serializers.CharField(source="event.type")

    class Meta:
        model = Delivery
        fields: tuple[str, ...] = (
            "id",
            "event_id",
            "event_type",
            "status",
            "attempts",
            "last_status_code",
            "last_attempt_at",
            "next_attempt_at",
            "created_at",
        )
        read_only_fields = fields


class DeliveryDetail(DeliveryOut):
    attempt_log = AttemptOut(many=True, help_text="Every attempt, newest first.")

    class Meta(DeliveryOut.Meta):
        fields = (*DeliveryOut.Meta.fields, "attempt_log")
        read_only_fields = fields
