from django.http import HttpRequest, JsonResponse

from tenant_apps.projects.models import Project


def two_queries(request: HttpRequest) -> JsonResponse:
    """A typical small page: a count and a short list, both from the tenant's schema."""
    count = Project.objects.count()
    names = list(Project.objects.order_by("id").values_list("name", flat=True)[:10])
    return JsonResponse({"count": count, "names": names})


def tasks_plain(request: HttpRequest, project_id: int) -> JsonResponse:
    """The API's task list without the API: the same selectors (the project as the owner sees it, its first 50
    tasks with assignees, creators and comment counts), the same fields, serialized by hand; no authentication, no
    rate limit, no DRF."""
    import os

    from shared_apps.accounts.models import Role, User
    from tenant_apps.projects import selectors
    from tenant_apps.projects.permissions import Viewer

    viewer = Viewer(user=User(pk=int(os.environ["BENCH_USER_ID"])), role=Role.OWNER)
    project = selectors.project_get_for_user(viewer, project_id)

    def person(user: User | None) -> dict[str, object] | None:
        return {"id": user.pk, "name": user.name, "email": user.email} if user else None

    results = [
        {
            "id": t.pk,
            "project": t.project_id,
            "title": t.title,
            "description": t.description,
            "status": t.status,
            "position": t.position,
            "assignee": person(t.assignee),
            "due_date": t.due_date.isoformat() if t.due_date else None,
            "created_by": person(t.created_by),
            "created_at": t.created_at.isoformat(),
            "updated_at": t.updated_at.isoformat(),
            "comment_count": t.comment_count,  # type: ignore[attr-defined]
        }
        for t in selectors.task_list(project)[:50]
    ]
    return JsonResponse({"next": None, "previous": None, "results": results})
