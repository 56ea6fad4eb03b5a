"""Every error the API answers, in the one shape `shared_apps.core.api` defines: DRF's own exceptions, the services'
ApplicationErrors (each kind with its status), Django's Http404 and PermissionDenied. Anything else is a 500, which
Django's handler answers in the same shape."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from billing.entitlements import LimitReached
from shared_apps.accounts.errors import AccountError, InvitationUnusable, LastOwner, SeatLimitReached
from shared_apps.accounts.errors import NotFound as AccountNotFound
from shared_apps.accounts.permissions import NotAllowed
from shared_apps.core.api import error_body
from shared_apps.core.errors import ApplicationError
from tenant_apps.projects.permissions import ProjectNotAllowed, ProjectNotFound
from tenant_apps.projects.services import DocumentRefused, ProjectInvalid
from tenant_apps.webhooks.selectors import WebhookNotFound
from tenant_apps.webhooks.services import EndpointInvalid

NON_FIELD = "non_field_errors"


def _application_error(exc: ApplicationError) -> tuple[int, str, dict[str, list[str]]]:
    """(status, code, fields) for an error a service raised."""
    if isinstance(exc, ProjectNotFound | AccountNotFound | WebhookNotFound):
        return status.HTTP_404_NOT_FOUND, "not_found", {}
    if isinstance(exc, ProjectNotAllowed | NotAllowed):
        return status.HTTP_403_FORBIDDEN, "permission_denied", {}
    if isinstance(exc, ProjectInvalid):
        return status.HTTP_400_BAD_REQUEST, "invalid", {exc.field or NON_FIELD: [exc.message]}
    if isinstance(exc, EndpointInvalid):
        return status.HTTP_400_BAD_REQUEST, "invalid", {"url": [exc.message]}
    if isinstance(exc, DocumentRefused):
        return status.HTTP_400_BAD_REQUEST, "upload_refused", {}
    if isinstance(exc, LastOwner):
        return status.HTTP_409_CONFLICT, "last_owner", {}
    if isinstance(exc, SeatLimitReached):
        return status.HTTP_409_CONFLICT, "seat_limit_reached", {}
    if isinstance(exc, LimitReached):
        return status.HTTP_409_CONFLICT, "plan_limit_reached", {}
    if isinstance(exc, InvitationUnusable):
        return status.HTTP_409_CONFLICT, "invitation_unusable", {}
    if isinstance(exc, AccountError):
        # What is left are state conflicts ("already an admin", "already revoked"): the input itself was checked.
        return status.HTTP_409_CONFLICT, "conflict", {}
    return status.HTTP_400_BAD_REQUEST, "invalid", {}


def flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested validation detail as `{"field": [...], "emails.2": [...]}`."""
    found: dict[str, list[str]] = {}
    if isinstance(detail, Mapping):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            for field, messages in flatten(value, name).items():
                found.setdefault(field, []).extend(messages)
    elif isinstance(detail, list | tuple):
        if all(not isinstance(item, Mapping | list | tuple) for item in detail):
            found[prefix or NON_FIELD] = [str(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                for field, messages in flatten(item, f"{prefix}.{index}" if prefix else str(index)).items():
                    found.setdefault(field, []).extend(messages)
    else:
        found[prefix or NON_FIELD] = [str(detail)]
    return found


def _code_of(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    return codes if isinstance(codes, str) else exc.default_code


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    headers: dict[str, str] = {}
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    if isinstance(exc, ApplicationError):
        status_code, code, fields = _application_error(exc)
        body = error_body(code, exc.message, fields)
    elif isinstance(exc, exceptions.ValidationError):
        fields = flatten(exc.detail)
        status_code, body = exc.status_code, error_body("invalid", _validation_message(fields), fields)
    elif isinstance(exc, exceptions.APIException):
        status_code = exc.status_code
        detail = exc.detail if isinstance(exc.detail, str) else " ".join(flatten(exc.detail).get(NON_FIELD, []))
        body = error_body(_code_of(exc), str(detail) or exc.default_detail)
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = str(exc.auth_header)
        if getattr(exc, "wait", None) is not None:
            headers["Retry-After"] = str(max(int(exc.wait), 1))
    else:
        return None  # a bug: Django's 500 handler answers, in the same shape
    set_rollback()
    return Response(body, status=status_code, headers=headers)


def _validation_message(fields: dict[str, list[str]]) -> str:
    if list(fields) == [NON_FIELD]:
        return fields[NON_FIELD][0]
    names = ", ".join(sorted(fields))
    return _("Some of what was sent is not valid (%(names)s); see `fields`.") % {"names": names}
