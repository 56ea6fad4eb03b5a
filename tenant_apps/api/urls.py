"""/api/ on a workspace host (config/urls_tenants.py): the versioned API under /api/v1/, its OpenAPI document at
/api/schema/ and the docs page at /api/docs/ (Swagger UI from drf-spectacular-sidecar's files, no CDN)."""

from __future__ import annotations

from typing import Any

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from tenant_apps.api.views.documents import DocumentViewSet
from tenant_apps.api.views.people import InvitationViewSet, MemberViewSet, MeViewSet
from tenant_apps.api.views.projects import CommentViewSet, LabelViewSet, ProjectViewSet, SharingViewSet, TaskViewSet
from tenant_apps.api.views.webhooks import DeliveryViewSet, WebhookViewSet

LIST = {"get": "list", "post": "create"}
ONE = {"get": "retrieve", "patch": "partial_update", "delete": "destroy"}


def _view(viewset: Any, actions: dict[str, str], name: str) -> Any:
    allowed = {method: act for method, act in actions.items() if method in viewset.http_method_names}
    return viewset.as_view(allowed, basename=name)


v1 = [
    path("me/", _view(MeViewSet, {"get": "retrieve"}, "me"), name="api-me"),
    path("projects/", _view(ProjectViewSet, LIST, "project"), name="api-project-list"),
    path("projects/<int:pk>/", _view(ProjectViewSet, ONE, "project"), name="api-project-detail"),
    path(
        "projects/<int:pk>/archive/", _view(ProjectViewSet, {"post": "archive"}, "project"), name="api-project-archive"
    ),
    path(
        "projects/<int:pk>/restore/", _view(ProjectViewSet, {"post": "restore"}, "project"), name="api-project-restore"
    ),
    path("projects/<int:project_id>/tasks/", _view(TaskViewSet, LIST, "task"), name="api-task-list"),
    path("projects/<int:project_id>/tasks/<int:pk>/", _view(TaskViewSet, ONE, "task"), name="api-task-detail"),
    path(
        "projects/<int:project_id>/tasks/<int:pk>/move/",
        _view(TaskViewSet, {"post": "move"}, "task"),
        name="api-task-move",
    ),
    path(
        "projects/<int:project_id>/tasks/<int:task_id>/comments/",
        _view(CommentViewSet, LIST, "comment"),
        name="api-comment-list",
    ),
    path(
        "projects/<int:project_id>/tasks/<int:task_id>/comments/<int:pk>/",
        _view(CommentViewSet, ONE, "comment"),
        name="api-comment-detail",
    ),
    path(
        "projects/<int:project_id>/sharing/",
        _view(SharingViewSet, {"get": "retrieve", "patch": "partial_update"}, "sharing"),
        name="api-project-sharing",
    ),
    path("projects/<int:project_id>/documents/", _view(DocumentViewSet, LIST, "document"), name="api-document-list"),
    path(
        "projects/<int:project_id>/documents/<int:pk>/",
        _view(DocumentViewSet, ONE, "document"),
        name="api-document-detail",
    ),
    path(
        "projects/<int:project_id>/documents/<int:pk>/confirm/",
        _view(DocumentViewSet, {"post": "confirm"}, "document"),
        name="api-document-confirm",
    ),
    path(
        "projects/<int:project_id>/documents/<int:pk>/cancel/",
        _view(DocumentViewSet, {"post": "cancel"}, "document"),
        name="api-document-cancel",
    ),
    path(
        "projects/<int:project_id>/documents/<int:pk>/download/",
        _view(DocumentViewSet, {"get": "download"}, "document"),
        name="api-document-download",
    ),
    path("labels/", _view(LabelViewSet, {"get": "list"}, "label"), name="api-label-list"),
    path("members/", _view(MemberViewSet, {"get": "list"}, "member"), name="api-member-list"),
    path("members/leave/", _view(MemberViewSet, {"post": "leave"}, "member"), name="api-member-leave"),
    path("members/<int:pk>/", _view(MemberViewSet, ONE, "member"), name="api-member-detail"),
    path(
        "members/<int:pk>/transfer-ownership/",
        _view(MemberViewSet, {"post": "transfer_ownership"}, "member"),
        name="api-member-transfer-ownership",
    ),
    path("invitations/", _view(InvitationViewSet, LIST, "invitation"), name="api-invitation-list"),
    path("invitations/<int:pk>/", _view(InvitationViewSet, ONE, "invitation"), name="api-invitation-detail"),
    path(
        "invitations/<int:pk>/resend/",
        _view(InvitationViewSet, {"post": "resend"}, "invitation"),
        name="api-invitation-resend",
    ),
    path("webhooks/", _view(WebhookViewSet, LIST, "webhook"), name="api-webhook-list"),
    path("webhooks/<int:pk>/", _view(WebhookViewSet, ONE, "webhook"), name="api-webhook-detail"),
    path(
        "webhooks/<int:pk>/rotate-secret/",
        _view(WebhookViewSet, {"post": "rotate_secret"}, "webhook"),
        name="api-webhook-rotate-secret",
    ),
    path("webhooks/<int:pk>/test/", _view(WebhookViewSet, {"post": "test"}, "webhook"), name="api-webhook-test"),
    path(
        "webhooks/<int:endpoint_id>/deliveries/",
        _view(DeliveryViewSet, {"get": "list"}, "delivery"),
        name="api-webhook-delivery-list",
    ),
    path(
        "webhooks/<int:endpoint_id>/deliveries/<int:pk>/",
        _view(DeliveryViewSet, {"get": "retrieve"}, "delivery"),
        name="api-webhook-delivery-detail",
    ),
    path(
        "webhooks/<int:endpoint_id>/deliveries/<int:pk>/resend/",
        _view(DeliveryViewSet, {"post": "resend"}, "delivery"),
        name="api-webhook-delivery-resend",
    ),
]

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's init script as a file (`docs/?script`): no inline script on the page.
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="api/swagger_ui.html"),
        name="api-docs",
    ),
]
