"""What every API view shares: the caller as a `Viewer` of the product, the rate-limit headers on every response,
and a 429 that says which limit of which plan was reached."""

from __future__ import annotations

from typing import Any, NoReturn

from django.http import HttpRequest
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from tenant_apps.api.authentication import ApiCaller
from tenant_apps.api.permissions import caller_of
from tenant_apps.api.throttling import decision_of, rate_headers
from tenant_apps.projects import selectors
from tenant_apps.projects.models import Project, Task
from tenant_apps.projects.permissions import ProjectAccess, Viewer
from tenants.models import Tenant


class ApiViewSet(GenericViewSet):
    http_method_names = ["get", "post", "patch", "delete", "head"]

    @property
    def caller(self) -> ApiCaller:
        return caller_of(self.request)

    def viewer(self) -> Viewer:
        return Viewer(user=self.request.user, role=self.caller.role)

    def workspace(self) -> Tenant:
        """The request's workspace, as the services take it (the route's read-only snapshot)."""
        django_request: HttpRequest = self.request._request
        return django_request.tenant  # type: ignore[attr-defined]

    def workspace_id(self) -> int:
        return int(self.request._request.route.tenant_id)

    def page_of(self, queryset: Any) -> list[Any]:
        page = self.paginate_queryset(self.filter_queryset(queryset))
        return list(page) if page is not None else list(queryset)

    def throttled(self, request: Request, wait: float | None) -> NoReturn:
        decision = decision_of(request)
        if decision is None:
            raise exceptions.Throttled(wait=wait)
        raise exceptions.Throttled(wait=decision.reset_after, detail=decision.message)

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        decision = decision_of(request)
        if decision is not None:
            for name, value in rate_headers(decision).items():
                response[name] = value
        return response


PROJECT_ID = OpenApiParameter("project_id", int, OpenApiParameter.PATH, description="The project's id.")
TASK_ID = OpenApiParameter("task_id", int, OpenApiParameter.PATH, description="The task's id.")


class ProjectScoped(ApiViewSet):
    """A viewset under /projects/<project_id>/: the project (as the caller may see it) and its tasks."""

    def project(self, access: ProjectAccess | None = None) -> tuple[Project, ProjectAccess]:
        access = access or ProjectAccess(self.viewer())
        return selectors.project_get_for_user(access.viewer, int(self.kwargs["project_id"]), access), access

    def task(self, project: Project) -> Task:
        return selectors.task_get(project, int(self.kwargs["task_id"]))


def valid(serializer_class: type[Any], request: Request) -> dict[str, Any]:
    """The request's data, validated by `serializer_class` (a 400 in the error shape otherwise)."""
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
