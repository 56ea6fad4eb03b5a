"""SCIM 2.0 endpoints (RFC 7644) of one workspace: parse, authenticate, call shared_apps.identity's SCIM services,
answer `application/scim+json`. Every refusal is a SCIM Error with a human `detail`, never a server error.

Authentication is the workspace's SCIM token (`Authorization: Bearer atr_scim_…`), one indexed lookup; a token of
another workspace is as unknown here as a made-up one. Wrong tokens are counted per client address: past the limit
in a minute, they are answered 429 on every host alike. No cookie is read and none is set (no CSRF: nothing here
trusts a browser's ambient credentials).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import cache, wraps
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from pydantic import ValidationError
from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    Error,
    ETag,
    Filter,
    Group,
    ListResponse,
    Patch,
    PatchOp,
    ResourceType,
    ResponseParameters,
    SCIMException,
    ScimProvider,
    ServiceProviderConfig,
    Sort,
    User,
)

from shared_apps.core.context import current
from shared_apps.core.ratelimit import Bucket, window_take
from shared_apps.identity.models import ScimToken
from shared_apps.identity.selectors import scim_token_authenticate
from shared_apps.identity.services import scim as service
from shared_apps.identity.services.scim import PAGE_MAX, ScimProblem
from tenants.models import Tenant

CONTENT_TYPE = "application/scim+json"
FAILURES_PER_MINUTE = 30
LAST_USE_EVERY_S = 60
BODY_MAX_BYTES = 1_000_000


@cache
def provider() -> ScimProvider:
    config = ServiceProviderConfig(
        documentation_uri=None,
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=PAGE_MAX),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=False),
        authentication_schemes=[
            AuthenticationScheme(
                type=AuthenticationScheme.Type.oauthbearertoken,
                name="Bearer token",
                description="A SCIM token made in the workspace's settings (Settings → Single sign-on → SCIM).",
                primary=True,
            )
        ],
    )
    return ScimProvider(models=[User, Group], config=config)


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    response = HttpResponse(json.dumps(data), status=status, content_type=CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _error(
    status: int, detail: str, scim_type: str | None = None, headers: dict[str, str] | None = None
) -> HttpResponse:
    body = Error(status=status, scim_type=scim_type, detail=detail).model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    return _json(body, status=status, headers=headers)


def _base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/scim/v2").rstrip("/")


def _tenant(request: HttpRequest) -> Tenant:
    return request.tenant  # type: ignore[attr-defined]


def _authenticated(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The workspace's SCIM token, or a SCIM 401 (429 past the wrong-token limit); every other refusal of the view
    (its problems, scim2-models' validation) becomes a SCIM Error."""

    @csrf_exempt
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        route = getattr(request, "route", None)
        if route is None or route.is_public:
            return _error(404, "SCIM is served on a workspace's own address.")
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, secret = header.strip().partition(" ")
        token = (
            scim_token_authenticate(secret=secret.strip(), tenant_id=route.tenant_id)
            if scheme.lower() == "bearer"
            else None
        )
        if token is None:
            address = current().ip or "unknown"
            hint = hashlib.sha256(secret[:16].encode("utf-8", "replace")).hexdigest()[:16]
            counted = window_take([Bucket(key=f"scim-token-failures:{address}:{hint}", limit=FAILURES_PER_MINUTE)])
            if not counted.allowed:
                wait = str(int(counted.reset_after()) + 1)
                return _error(
                    429, "Too many wrong SCIM tokens from your address; wait a minute.", None, {"Retry-After": wait}
                )
            return _error(
                401, "The SCIM token is missing, wrong or revoked.", None, {"WWW-Authenticate": 'Bearer realm="scim"'}
            )
        _note_use(token)
        try:
            return view(request, token, *args, **kwargs)
        except ScimProblem as problem:
            return _error(problem.status, problem.detail, problem.scim_type)
        except SCIMException as exc:
            return _error(exc.status, exc.detail[:500], exc.scim_type or None)
        except ValidationError as exc:
            return _validation_error(exc)
        except RequestDataTooBig:
            return _error(413, f"The request body is larger than {BODY_MAX_BYTES} bytes.")

    return wrapped


def _validation_error(exc: ValidationError) -> HttpResponse:
    for item in exc.errors():
        context = item.get("ctx") or {}
        if "scim_type" in context:
            status = int(context.get("status") or 400)
            return _error(status, str(item.get("msg", "Invalid value."))[:500], context["scim_type"] or None)
    errors = exc.errors()
    if not errors:
        return _error(400, "Invalid value.", "invalidValue")
    where = ".".join(str(part) for part in errors[0]["loc"])
    message = errors[0]["msg"]
    detail = f"{where}: {message}" if where else message
    return _error(400, detail[:500], "invalidValue")


def _note_use(token: ScimToken) -> None:
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() >= LAST_USE_EVERY_S:
        ScimToken.objects.filter(pk=token.pk).update(last_used_at=now)


def _body(request: HttpRequest) -> dict[str, Any]:
    if len(request.body) > BODY_MAX_BYTES:
        raise RequestDataTooBig
    try:
        data = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ScimProblem(400, "The body is not valid JSON.", "invalidSyntax") from exc
    if not isinstance(data, dict):
        raise ScimProblem(400, "The body is a JSON object.", "invalidSyntax")
    return data


def _parameters(request: HttpRequest) -> ResponseParameters[Any]:
    return ResponseParameters.model_validate(
        {
            "attributes": request.GET.get("attributes") or None,
            "excludedAttributes": request.GET.get("excludedAttributes") or None,
        }
    )


def _selects_attributes(request: HttpRequest) -> bool:
    return bool(request.GET.get("attributes") or request.GET.get("excludedAttributes"))


def _user_json(row: Any, request: HttpRequest) -> dict[str, Any]:
    """The stored User as is; through scim2-models when the client selects attributes."""
    base = _base_url(request)
    if _selects_attributes(request):
        return _dump(service.user_resource(row, base), request)
    return service.user_document(row, base)


def _group_json(row: Any, request: HttpRequest) -> dict[str, Any]:
    base = _base_url(request)
    if _selects_attributes(request):
        return _dump(service.group_resource(row, base), request)
    return service.group_document(row, base)


def _dump(resource: Any, request: HttpRequest) -> dict[str, Any]:
    return resource.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE, response_parameters=_parameters(request))


def _not_allowed(methods: str) -> HttpResponse:
    return _error(405, f"This address answers {methods} only.", None, {"Allow": methods})


# --- discovery -----------------------------------------------------------------------------------------------------


@_authenticated
def service_provider_config(request: HttpRequest, token: ScimToken) -> HttpResponse:
    if request.method != "GET":
        return _not_allowed("GET")
    config = provider().config
    assert config is not None  # noqa: S101 (built with one above)
    data = config.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    data["meta"] = {"resourceType": "ServiceProviderConfig", "location": _base_url(request) + "/ServiceProviderConfig"}
    return _json(data)


def _resource_type_data(resource_type: ResourceType, request: HttpRequest) -> dict[str, Any]:
    data = resource_type.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    data["meta"] = {"resourceType": "ResourceType", "location": f"{_base_url(request)}/ResourceTypes/{data['id']}"}
    return data


def _schema_data(schema: Any, request: HttpRequest) -> dict[str, Any]:
    data: dict[str, Any] = schema.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    data["meta"] = {"resourceType": "Schema", "location": f"{_base_url(request)}/Schemas/{data['id']}"}
    return data


def _listed(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": len(items),
        "startIndex": 1,
        "itemsPerPage": len(items),
        "Resources": items,
    }


@_authenticated
def resource_types(request: HttpRequest, token: ScimToken) -> HttpResponse:
    if request.method != "GET":
        return _not_allowed("GET")
    return _json(_listed([_resource_type_data(rt, request) for rt in provider().resource_types]))


@_authenticated
def resource_type(request: HttpRequest, token: ScimToken, name: str) -> HttpResponse:
    if request.method != "GET":
        return _not_allowed("GET")
    found = next((rt for rt in provider().resource_types if rt.id == name), None)
    if found is None:
        return _error(404, "There is no such resource type.")
    return _json(_resource_type_data(found, request))


@_authenticated
def schemas(request: HttpRequest, token: ScimToken) -> HttpResponse:
    if request.method != "GET":
        return _not_allowed("GET")
    return _json(_listed([_schema_data(s, request) for s in provider().schemas]))


@_authenticated
def schema(request: HttpRequest, token: ScimToken, schema_id: str) -> HttpResponse:
    if request.method != "GET":
        return _not_allowed("GET")
    found = next((s for s in provider().schemas if s.id == schema_id), None)
    if found is None:
        return _error(404, "There is no such schema.")
    return _json(_schema_data(found, request))


# --- users ---------------------------------------------------------------------------------------------------------


def _list_response(total: int, resources: list[dict[str, Any]], page: service.Page) -> HttpResponse:
    return _json(
        {
            "schemas": [str(ListResponse.__schema__)],
            "totalResults": total,
            "startIndex": page.start_index,
            "itemsPerPage": len(resources),
            "Resources": resources,
        }
    )


def _created(data: dict[str, Any]) -> HttpResponse:
    return _json(data, status=201, headers={"Location": data["meta"]["location"]})


@_authenticated
def users(request: HttpRequest, token: ScimToken) -> HttpResponse:
    tenant = _tenant(request)
    if request.method == "GET":
        page = service.page_of(request.GET.get("startIndex"), request.GET.get("count"))
        total, rows = service.scim_user_list(tenant_id=tenant.pk, filter_=request.GET.get("filter"), page=page)
        return _list_response(total, [_user_json(r, request) for r in rows], page)
    if request.method == "POST":
        resource: User = User.model_validate(_body(request), scim_ctx=Context.RESOURCE_CREATION_REQUEST)
        row = service.scim_user_create(tenant=tenant, token=token, resource=resource)
        return _created(_user_json(row, request))
    return _not_allowed("GET, POST")


@_authenticated
def user(request: HttpRequest, token: ScimToken, scim_id: str) -> HttpResponse:
    tenant = _tenant(request)
    base = _base_url(request)
    if scim_id == ".search":
        return _error(501, "Searching with POST is not supported; use GET with a filter.")
    row = service.scim_user_get(tenant_id=tenant.pk, scim_id=scim_id)
    if request.method == "GET":
        return _json(_user_json(row, request))
    if request.method == "PUT":
        replacement: User = User.model_validate(_body(request), scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST)
        row = service.scim_user_replace(tenant=tenant, token=token, row=row, resource=replacement)
        return _json(_user_json(row, request))
    if request.method == "PATCH":
        patch = PatchOp[User].model_validate(_body(request), scim_ctx=Context.RESOURCE_PATCH_REQUEST)
        row = service.scim_user_patch(tenant=tenant, token=token, row=row, patch=patch, base_url=base)
        return _json(_user_json(row, request))
    if request.method == "DELETE":
        service.scim_user_delete(tenant=tenant, token=token, row=row)
        return HttpResponse(status=204)
    return _not_allowed("GET, PUT, PATCH, DELETE")


# --- groups --------------------------------------------------------------------------------------------------------


@_authenticated
def groups(request: HttpRequest, token: ScimToken) -> HttpResponse:
    tenant = _tenant(request)
    if request.method == "GET":
        page = service.page_of(request.GET.get("startIndex"), request.GET.get("count"))
        total, rows = service.scim_group_list(tenant_id=tenant.pk, filter_=request.GET.get("filter"), page=page)
        return _list_response(total, [_group_json(r, request) for r in rows], page)
    if request.method == "POST":
        resource: Group = Group.model_validate(_body(request), scim_ctx=Context.RESOURCE_CREATION_REQUEST)
        row = service.scim_group_create(tenant=tenant, token=token, resource=resource)
        return _created(_group_json(row, request))
    return _not_allowed("GET, POST")


@_authenticated
def group(request: HttpRequest, token: ScimToken, scim_id: str) -> HttpResponse:
    tenant = _tenant(request)
    base = _base_url(request)
    if scim_id == ".search":
        return _error(501, "Searching with POST is not supported; use GET with a filter.")
    row = service.scim_group_get(tenant_id=tenant.pk, scim_id=scim_id)
    if request.method == "GET":
        return _json(_group_json(row, request))
    if request.method == "PUT":
        replaced: Group = Group.model_validate(_body(request), scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST)
        row = service.scim_group_replace(tenant=tenant, token=token, group=row, resource=replaced)
        return _json(_group_json(row, request))
    if request.method == "PATCH":
        patch = PatchOp[Group].model_validate(_body(request), scim_ctx=Context.RESOURCE_PATCH_REQUEST)
        row = service.scim_group_patch(tenant=tenant, token=token, group=row, patch=patch, base_url=base)
        return _json(_group_json(row, request))
    if request.method == "DELETE":
        service.scim_group_delete(tenant=tenant, token=token, group=row)
        return HttpResponse(status=204)
    return _not_allowed("GET, PUT, PATCH, DELETE")


@_authenticated
def unknown(request: HttpRequest, token: ScimToken) -> HttpResponse:
    if request.path.rstrip("/").endswith("/.search"):
        return _error(501, "Searching with POST is not supported; use GET with a filter.")
    return _error(404, "There is nothing at this SCIM address.")
