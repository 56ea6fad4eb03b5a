from django.http import HttpRequest, JsonResponse

from tenant_apps.projects.models import Project


def two_queries(request: HttpRequest) -> JsonResponse:
    """A typical small page: a count and a short list, both from the tenant's schema."""
    count = Project.objects.count()
    names = list(Project.objects.order_by("id").values_list("name", flat=True)[:10])
    return JsonResponse({"count": count, "names": names})
