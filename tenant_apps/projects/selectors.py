from __future__ import annotations

from django.db.models import QuerySet

from tenant_apps.projects.models import Project


def project_list() -> QuerySet[Project]:
    """The current tenant's projects (the schema is the tenant boundary), with their creators."""
    return Project.objects.select_related("created_by").order_by("name", "id")
