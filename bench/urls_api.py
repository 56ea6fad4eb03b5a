"""The API benchmark's URLconf: the API as served on a workspace host, and the plain view beside it."""

from django.urls import include, path

from bench.views import tasks_plain
from tenant_apps.api import urls as api_urls

urlpatterns = [
    path("api/v1/", include(api_urls.v1)),
    path("bench/projects/<int:project_id>/tasks/", tasks_plain),
]
