"""A project's documents.

Downloads are a permission check and a redirect to a URL signed for seconds; a page shows thumbnails by signing
their stored keys (no network call, nothing generated on read). Uploads: the plain form goes through the app; with
JavaScript the browser sends the bytes straight to storage (a signed form that pins the key and the size), with a
progress bar, and the app confirms what arrived before anyone sees it."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from billing.entitlements import LimitReached
from shared_apps.accounts.http import MemberRequest
from shared_apps.core.l10n import size_text
from shared_apps.core.text import without_nul
from shared_apps.storage.backends import TenantStorage, files
from shared_apps.storage.inspection import ALLOWED, accept_attribute, allowed_summary
from tenant_apps.projects import selectors, services
from tenant_apps.projects.forms import DirectUploadForm, DocumentDeleteForm, DocumentUploadForm
from tenant_apps.projects.models import Document, Project, Task
from tenant_apps.projects.permissions import ProjectAccess, ProjectPermission
from tenant_apps.projects.services import DocumentRefused, ProjectInvalid
from tenant_apps.projects.views.base import can_flags, member_view, project_and_access, project_context

DOCUMENTS_PER_PAGE = 50


def _document_row(document: Document, storage: TenantStorage, schema_name: str) -> dict[str, object]:
    file_type = ALLOWED.get(document.file_type)
    thumbnail = selectors.document_thumbnail_url(document, schema_name=schema_name, storage=storage)
    return {
        "document": document,
        "type_label": file_type.label if file_type else document.file_type,
        "size": size_text(document.size),
        "thumbnail_url": thumbnail,
        "opens_inline": bool(file_type and file_type.inline),
    }


def _upload_context(
    project: Project, *, task: Task | None, form: DocumentUploadForm | None = None
) -> dict[str, object]:
    return {
        "upload_form": form or DocumentUploadForm(initial={"task": task.pk if task else None}),
        "upload_accept": accept_attribute(),
        "upload_help": _("Up to %(size)s: %(types)s.")
        % {"size": size_text(int(settings.STORAGE_UPLOAD_MAX_BYTES)), "types": allowed_summary()},
        "upload_task": task,
    }


def attachments_context(request: MemberRequest, project: Project, task: Task, *, can_change: bool) -> dict[str, object]:
    storage, schema = files(), request.route.schema_name
    context: dict[str, object] = {
        "attachments": [_document_row(d, storage, schema) for d in selectors.document_list(project, task=task)]
    }
    if can_change:
        context.update(_upload_context(project, task=task))
    return context


@member_view
def project_documents(request: MemberRequest, project_id: int) -> HttpResponse:
    project, access = project_and_access(request, project_id)
    return _documents_page(request, project, access)


def _documents_page(
    request: MemberRequest, project: Project, access: ProjectAccess, form: DocumentUploadForm | None = None
) -> HttpResponse:
    page = Paginator(selectors.document_list(project), DOCUMENTS_PER_PAGE).get_page(request.GET.get("page"))
    storage, schema = files(), request.route.schema_name
    can = can_flags(access, project)
    context = project_context(
        project, access, "documents", page=page, rows=[_document_row(d, storage, schema) for d in page.object_list]
    )
    if can["change"]:
        context.update(_upload_context(project, task=None, form=form))
    return render(request, "tenant/projects/documents.html", context, status=400 if form and form.errors else 200)


def _task_for_upload(project: Project, task_id: int | None) -> Task | None:
    return selectors.task_get(project, task_id) if task_id else None


def _after_upload(project: Project, task: Task | None) -> str:
    if task is not None:
        return reverse("task_detail", kwargs={"project_id": project.pk, "task_id": task.pk}) + "#attachments"
    return reverse("project_documents", kwargs={"project_id": project.pk})


@member_view
@require_POST
def document_upload(request: MemberRequest, project_id: int) -> HttpResponse:
    """The plain form: the file comes through the app and is checked before anything is stored."""
    project, access = project_and_access(request, project_id)
    access.require(ProjectPermission.CHANGE, project)
    raw_task = request.POST.get("task", "")
    task = _task_for_upload(project, int(raw_task)) if raw_task.isdigit() and len(raw_task) < 19 else None
    form = DocumentUploadForm(request.POST, request.FILES, task_ids=[task.pk] if task else [])
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            document = services.document_upload(
                project=project,
                task=task,
                content=upload,
                size=upload.size or 0,
                name=upload.name or "file",
                acting_user=request.user,
            )
        except (DocumentRefused, LimitReached) as exc:
            form.add_error("file", exc.message)
        except ProjectInvalid as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("Uploaded “%(name)s”.") % {"name": document.name})
            return redirect(_after_upload(project, task))
    if task is not None:
        for error in form.errors.get("file", []) or form.non_field_errors():
            messages.error(request, str(error))
        return redirect(_after_upload(project, task))
    return _documents_page(request, project, access, form=form)


def _json_error(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@member_view
@require_POST
def document_upload_start(request: MemberRequest, project_id: int) -> HttpResponse:
    """The page's script asks to send a file straight to storage: quota checked and bytes reserved, then the signed
    form (URL and fields) it POSTs the file with."""
    project, access = project_and_access(request, project_id)
    access.require(ProjectPermission.CHANGE, project)
    form = DirectUploadForm(request.POST)
    if not form.is_valid():
        return _json_error("Choose a file to upload.")
    task = _task_for_upload(project, form.cleaned_data["task"])
    try:
        started = services.document_upload_start(
            project=project,
            task=task,
            name=without_nul(form.cleaned_data["name"]),
            size=form.cleaned_data["size"],
            acting_user=request.user,
        )
    except (DocumentRefused, LimitReached) as exc:
        return _json_error(exc.message)
    document = started.document
    kwargs = {"project_id": project.pk, "document_id": document.pk}
    return JsonResponse(
        {
            "url": started.form.url,
            "fields": started.form.fields,
            "confirm": reverse("document_upload_confirm", kwargs=kwargs),
            "cancel": reverse("document_upload_cancel", kwargs=kwargs),
        },
        status=201,
    )


@member_view
@require_POST
def document_upload_confirm(request: MemberRequest, project_id: int, document_id: int) -> HttpResponse:
    """The bytes have arrived in storage: check them (size, type) and make the document visible, or refuse it."""
    project, _access = project_and_access(request, project_id)
    document = selectors.document_get(project, document_id, pending=True)
    try:
        confirmed = services.document_upload_confirm(document=document, acting_user=request.user)
    except DocumentRefused as exc:
        return _json_error(exc.message)
    messages.success(request, _("Uploaded “%(name)s”.") % {"name": confirmed.name})
    return JsonResponse({"name": confirmed.name, "location": _after_upload(project, confirmed.task)})


@member_view
@require_POST
def document_upload_cancel(request: MemberRequest, project_id: int, document_id: int) -> HttpResponse:
    project, _access = project_and_access(request, project_id)
    document = selectors.document_get(project, document_id, pending=True)
    services.document_upload_cancel(document=document, acting_user=request.user)
    return HttpResponse(status=204)


@member_view
def document_download(request: MemberRequest, project_id: int, document_id: int) -> HttpResponse:
    """Permission first (the project's view permission: "not found" without it), then a redirect to a URL signed for
    at most 60 seconds: inline for images and PDFs (unless `?download=1`), an attachment for everything else."""
    project, _access = project_and_access(request, project_id)
    document = selectors.document_get(project, document_id)
    url = selectors.document_download_url(
        document, schema_name=request.route.schema_name, attachment=request.GET.get("download") == "1"
    )
    response = redirect(url)
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


@member_view
@require_http_methods(["GET", "POST"])
def document_delete(request: MemberRequest, project_id: int, document_id: int) -> HttpResponse:
    project, access = project_and_access(request, project_id)
    document = selectors.document_get(project, document_id)
    access.require(ProjectPermission.CHANGE, project)
    form = DocumentDeleteForm(request.POST or None)
    back = _after_upload(project, document.task)
    if request.method == "POST" and form.is_valid():
        try:
            services.document_delete(
                document=document, confirm_name=form.cleaned_data["confirm_name"], acting_user=request.user
            )
        except ProjectInvalid as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("“%(name)s” was deleted.") % {"name": document.name})
            return redirect(back)
    context = project_context(
        project, access, "documents", document=document, form=form, back=back, size=size_text(document.size)
    )
    return render(request, "tenant/projects/document_delete.html", context, status=400 if form.errors else 200)
