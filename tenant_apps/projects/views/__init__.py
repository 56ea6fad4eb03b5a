"""The product's pages on a workspace host, one module per page group: home and projects, the board, tasks with
comments, sharing, documents.

Thin: each view parses input, asks a selector (reads, permission-aware) or a service (writes, which check the
permission again), and renders. What the viewer may do on a page is read once from `ProjectAccess` (one query for
every object shown); a project the viewer may not see is "not found", one they may see but not change "not allowed".
"""

from tenant_apps.projects.views.base import member_view
from tenant_apps.projects.views.board import project_board, task_create, task_move
from tenant_apps.projects.views.documents import (
    document_delete,
    document_download,
    document_upload,
    document_upload_cancel,
    document_upload_confirm,
    document_upload_start,
    project_documents,
)
from tenant_apps.projects.views.projects import (
    home,
    project_archive,
    project_create,
    project_delete,
    project_edit,
    project_list,
    project_restore,
)
from tenant_apps.projects.views.sharing import (
    project_sharing,
    project_sharing_group,
    project_sharing_group_revoke,
    project_visibility,
)
from tenant_apps.projects.views.tasks import comment_create, comment_edit, task_delete, task_detail

__all__ = [
    "comment_create",
    "comment_edit",
    "document_delete",
    "document_download",
    "document_upload",
    "document_upload_cancel",
    "document_upload_confirm",
    "document_upload_start",
    "home",
    "member_view",
    "project_archive",
    "project_board",
    "project_create",
    "project_delete",
    "project_documents",
    "project_edit",
    "project_list",
    "project_restore",
    "project_sharing",
    "project_sharing_group",
    "project_sharing_group_revoke",
    "project_visibility",
    "task_create",
    "task_delete",
    "task_detail",
    "task_move",
]
