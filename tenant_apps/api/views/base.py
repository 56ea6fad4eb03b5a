"""What every API view shares: the caller as a `Viewer` of the product, the rate-limit headers on every response,
and a 429 that says which limit of which plan was reached."""

from __future__ import annotations

from typing import Any, NoReturn

from django.http import HttpRequest
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from tenant_apps.api.authentication import ApiCaller
from tenant_apps.api.permissions import caller_of
from tenant_apps.api.throttling import decision_of, rate_headers
from tenant_apps.projects.permissions import Viewer
from tenants.models import Tenant


class ApiViewSet(GenericViewSet):
    http_method_names = ["get", "post", "patch", "delete", "head"]

    @property
    def caller(self) -> ApiCaller:
        return caller_of(self.request)

    def viewer(self) -> Viewer:
        return Viewer(user=self.request.user, role=self.caller.role)

    def tenant(self) -> Tenant:
        """The request's workspace, as the services take it (the route's read-only snapshot)."""
        django_request: HttpRequest = self.request._request
        return django_request.tenant  # type: ignore[attr-defined]

    def tenant_id(self) -> int:
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
