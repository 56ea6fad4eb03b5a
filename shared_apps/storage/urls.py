"""/files/ on a workspace host: the filesystem backend's signed downloads and direct uploads."""

from django.urls import path

from shared_apps.storage import views

urlpatterns = [
    path("upload/", views.file_upload, name="storage_upload"),
    path("<path:key>", views.file_download, name="storage_file"),
]
