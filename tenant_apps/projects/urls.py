"""The product's pages, under /projects/ on a workspace host (config/urls_tenants.py)."""

from django.urls import path

from tenant_apps.projects import views

urlpatterns = [
    path("", views.project_list, name="project_list"),
    path("new/", views.project_create, name="project_create"),
    path("<int:project_id>/", views.project_board, name="project_board"),
    path("<int:project_id>/edit/", views.project_edit, name="project_edit"),
    path("<int:project_id>/sharing/", views.project_sharing, name="project_sharing"),
    path("<int:project_id>/sharing/groups/", views.project_sharing_group, name="project_sharing_group"),
    path(
        "<int:project_id>/sharing/groups/<uuid:group_id>/revoke/",
        views.project_sharing_group_revoke,
        name="project_sharing_group_revoke",
    ),
    path("<int:project_id>/visibility/", views.project_visibility, name="project_visibility"),
    path("<int:project_id>/archive/", views.project_archive, name="project_archive"),
    path("<int:project_id>/restore/", views.project_restore, name="project_restore"),
    path("<int:project_id>/delete/", views.project_delete, name="project_delete"),
    path("<int:project_id>/documents/", views.project_documents, name="project_documents"),
    path("<int:project_id>/documents/upload/", views.document_upload, name="document_upload"),
    path("<int:project_id>/documents/uploads/", views.document_upload_start, name="document_upload_start"),
    path(
        "<int:project_id>/documents/<int:document_id>/confirm/",
        views.document_upload_confirm,
        name="document_upload_confirm",
    ),
    path(
        "<int:project_id>/documents/<int:document_id>/cancel/",
        views.document_upload_cancel,
        name="document_upload_cancel",
    ),
    path("<int:project_id>/documents/<int:document_id>/download/", views.document_download, name="document_download"),
    path("<int:project_id>/documents/<int:document_id>/delete/", views.document_delete, name="document_delete"),
    path("<int:project_id>/tasks/new/", views.task_create, name="task_create"),
    path("<int:project_id>/tasks/<int:task_id>/", views.task_detail, name="task_detail"),
    path("<int:project_id>/tasks/<int:task_id>/move/", views.task_move, name="task_move"),
    path("<int:project_id>/tasks/<int:task_id>/delete/", views.task_delete, name="task_delete"),
    path("<int:project_id>/tasks/<int:task_id>/comments/", views.comment_create, name="comment_create"),
    path(
        "<int:project_id>/tasks/<int:task_id>/comments/<int:comment_id>/edit/",
        views.comment_edit,
        name="comment_edit",
    ),
]
