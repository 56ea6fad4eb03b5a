"""Activity, under /activity/ on a workspace host (config/urls_tenants.py)."""

from django.urls import path

from tenant_apps.activity import views

urlpatterns = [
    path("", views.workspace_activity, name="workspace_activity"),
    path("projects/<int:project_id>/", views.project_activity, name="project_activity"),
]
