"""Live updates, under /live/ on a workspace host (config/urls_tenants.py)."""

from django.urls import path

from tenant_apps.live import views

urlpatterns = [
    path("stream/", views.live_stream, name="live_stream"),
    path("projects/<int:project_id>/stream/", views.live_stream, name="live_project_stream"),
]
