"""Writes of the product, one module per concern. Each one: keyword-only and typed, checks `acting_user`'s
permission itself (through `permissions.py`, whatever page or API called it), runs in one transaction, and writes an
audit entry."""

from tenant_apps.projects.services.comments import comment_create, comment_delete, comment_edit
from tenant_apps.projects.services.documents import (
    DirectUpload,
    DocumentRefused,
    document_delete,
    document_thumbnail_make,
    document_upload,
    document_upload_cancel,
    document_upload_confirm,
    document_upload_start,
    pending_upload_forget,
)
from tenant_apps.projects.services.group_sharing import project_group_share
from tenant_apps.projects.services.labels import label_create, label_delete, label_update, task_labels_set
from tenant_apps.projects.services.projects import (
    WELCOME_PROJECT_DESCRIPTION,
    WELCOME_PROJECT_NAME,
    project_archive,
    project_create,
    project_delete,
    project_restore,
    project_update,
    project_visibility_set,
    welcome_project_ensure,
)
from tenant_apps.projects.services.sharing import ShareResult, grants_revoke_departed, project_share
from tenant_apps.projects.services.tasks import (
    TaskConflict,
    task_create,
    task_delete,
    task_move,
    task_save,
    task_update,
)
from tenant_apps.projects.services.validation import (
    DUE_DATE_MAX,
    DUE_DATE_MIN,
    ProjectInvalid,
    clean_due_date,
    clean_line,
    clean_text,
)

__all__ = [
    "DUE_DATE_MAX",
    "DUE_DATE_MIN",
    "WELCOME_PROJECT_DESCRIPTION",
    "WELCOME_PROJECT_NAME",
    "DirectUpload",
    "DocumentRefused",
    "ProjectInvalid",
    "ShareResult",
    "TaskConflict",
    "clean_due_date",
    "clean_line",
    "clean_text",
    "comment_create",
    "comment_delete",
    "comment_edit",
    "document_delete",
    "document_thumbnail_make",
    "document_upload",
    "document_upload_cancel",
    "document_upload_confirm",
    "document_upload_start",
    "grants_revoke_departed",
    "label_create",
    "label_delete",
    "label_update",
    "pending_upload_forget",
    "project_archive",
    "project_create",
    "project_delete",
    "project_group_share",
    "project_restore",
    "project_share",
    "project_update",
    "project_visibility_set",
    "task_create",
    "task_delete",
    "task_labels_set",
    "task_move",
    "task_save",
    "task_update",
    "welcome_project_ensure",
]
