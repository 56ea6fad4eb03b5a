"""A project's documents (and its tasks' attachments): metadata, uploads straight to storage, downloads by redirect.

The same flow as the pages, through the same services: `POST …/documents/` checks the caller may change the project,
the name's type against the allow-list, the size against the upload limit and the plan's storage, reserves the bytes
and answers a signed form (URL and fields) that lets storage take exactly that file at a generated key; the client
POSTs the file there, then `POST …/documents/<id>/confirm/`, which checks what arrived (its size, its bytes' type)
before the document exists for anyone. A download is the project's view permission, then a 302 to a URL signed for
seconds; no access is 404, as for every other object."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from shared_apps.core.text import without_nul
from tenant_apps.api import serializers as s
from tenant_apps.api.filters import DocumentFilter
from tenant_apps.api.views.base import PROJECT_ID, ProjectScoped, valid
from tenant_apps.projects import selectors, services
from tenant_apps.projects.models import Document, Project, Task
from tenant_apps.projects.permissions import ProjectNotFound

ATTACHMENT = OpenApiParameter(
    "attachment", bool, description="Download as an attachment even where the browser could show the file."
)


def _task(project: Project, task_id: int | None) -> Task | None:
    return selectors.task_get(project, task_id) if task_id else None


@extend_schema_view(
    list=extend_schema(
        summary="A project's documents, newest first",
        description="Finished uploads only. `task` narrows the list to one task's attachments.",
        parameters=[PROJECT_ID],
        responses=s.DocumentOut(many=True),
    ),
    retrieve=extend_schema(summary="A document's metadata", parameters=[PROJECT_ID], responses=s.DocumentOut),
    create=extend_schema(
        summary="Start an upload: get a signed form to send the file straight to storage",
        description="Needs edit access. The name's extension must be one Atrium takes and the size within the upload "
        "limit and the plan's storage; the bytes are reserved until the upload is confirmed or cancelled (or "
        "expires). POST the file to `upload.url` as multipart form data: every field of `upload.fields` first, then "
        "the file as `file`. Then call `confirm`.",
        parameters=[PROJECT_ID],
        request=s.UploadStart,
        responses={201: s.UploadStarted},
    ),
    destroy=extend_schema(
        summary="Delete a document (needs edit access)", parameters=[PROJECT_ID], responses={204: None}
    ),
)
class DocumentViewSet(ProjectScoped):
    queryset = Document.objects.none()
    filterset_class = DocumentFilter
    search_fields = ("name",)
    ordering_fields = ("created_at", "name", "size")
    ordering = ("-created_at", "-id")
    http_method_names = ["get", "post", "delete", "head"]

    def _pending(self, project: Project, pk: str) -> Document:
        return selectors.document_get(project, int(pk), pending=True)

    def list(self, request: Request, project_id: str) -> Response:
        project, _access = self.project()
        page = self.page_of(selectors.document_list(project))
        return self.get_paginated_response(s.DocumentOut(page, many=True).data)

    def retrieve(self, request: Request, project_id: str, pk: str) -> Response:
        project, _access = self.project()
        return Response(s.DocumentOut(selectors.document_get(project, int(pk))).data)

    def create(self, request: Request, project_id: str) -> Response:
        project, _access = self.project()  # first: a project the caller cannot see is 404 whatever the body says
        data = valid(s.UploadStart, request)
        started = services.document_upload_start(
            project=project,
            task=_task(project, data["task"]),
            name=without_nul(data["name"]),
            size=data["size"],
            acting_user=request.user,
        )
        document, form = started.document, started.form
        here = request.build_absolute_uri(request.path)
        body = {
            "document": s.DocumentOut(document).data,
            "upload": {
                "method": "POST",
                "url": request.build_absolute_uri(form.url),  # storage's own URL, or this host's for local files
                "fields": form.fields,
                "expires_at": form.expires_at,
                "max_bytes": form.max_bytes,
            },
            "confirm": f"{here}{document.pk}/confirm/",
            "cancel": f"{here}{document.pk}/cancel/",
        }
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Finish an upload: storage has the file",
        description="The stored object is checked (its size, its type by its bytes) before the document exists for "
        "anyone; anything wrong is deleted and refused (400, `upload_refused`). Only whoever started the upload "
        "confirms it; confirming twice answers the document again.",
        parameters=[PROJECT_ID],
        request=None,
        responses=s.DocumentOut,
    )
    @action(detail=True, methods=["post"])
    def confirm(self, request: Request, project_id: str, pk: str) -> Response:
        project, _access = self.project()
        try:
            document = self._pending(project, pk)
        except ProjectNotFound:
            document = selectors.document_get(project, int(pk))  # confirmed already: the same answer again
        confirmed = services.document_upload_confirm(document=document, acting_user=request.user)
        return Response(s.DocumentOut(selectors.document_get(project, confirmed.pk)).data)

    @extend_schema(
        summary="Give up an upload (its bytes and reservation go)",
        parameters=[PROJECT_ID],
        request=None,
        responses={204: None},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, project_id: str, pk: str) -> Response:
        project, _access = self.project()
        services.document_upload_cancel(document=self._pending(project, pk), acting_user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Download: a redirect to the file, signed for a minute",
        description="Needs view access to the project (404 otherwise). Images and PDFs are signed to show inline "
        "unless `attachment` is set; other files always download. Follow the `Location` header without sending "
        "your API key on (the URL carries its own signature).",
        parameters=[PROJECT_ID, ATTACHMENT],
        responses={302: OpenApiResponse(s.DownloadRedirect, description="`Location` (and `url`): the signed URL.")},
    )
    @action(detail=True, methods=["get"])
    def download(self, request: Request, project_id: str, pk: str) -> Response:
        project, _access = self.project()
        document = selectors.document_get(project, int(pk))
        attachment = request.query_params.get("attachment", "").lower() in {"1", "true", "yes"}
        url = selectors.document_download_url(
            document, schema_name=request._request.route.schema_name, attachment=attachment
        )
        return Response(
            {"url": url},  # for clients that do not follow redirects (and so that every answer is JSON)
            status=status.HTTP_302_FOUND,
            headers={"Location": url, "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
        )

    def destroy(self, request: Request, project_id: str, pk: str) -> Response:
        project, _access = self.project()
        document = selectors.document_get(project, int(pk))
        # The pages ask for the file's name typed out; here the request names the document by its id, on purpose.
        services.document_delete(document=document, confirm_name=document.name, acting_user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
