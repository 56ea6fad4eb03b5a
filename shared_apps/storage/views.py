"""The filesystem backend's two endpoints on a workspace host, standing in for S3's: a signed download
(`GET /files/<key>?…`) and a signed direct upload (`POST /files/upload/`). The signature is the permission, granted by
a product view that checked the person's rights and signed for seconds; a key of another workspace is not found
here whatever its signature. With the S3 backend both answer 404.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from shared_apps.core.http import LengthInvalid, declared_length
from shared_apps.storage import local
from shared_apps.storage.backends import TenantFileSystemStorage, files
from shared_apps.storage.keys import KeyRefused, key_in_workspace

# What a browser may do with a file it was handed: nothing but show it. PDFs are left to the browser's own viewer.
SANDBOX = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
UPLOAD_OVERHEAD = 64 * 1024  # multipart boundaries and the policy fields around the file


def _local_storage() -> TenantFileSystemStorage:
    storage = files()
    if not isinstance(storage, TenantFileSystemStorage):
        raise Http404("Files are served by the storage service.")
    return storage


def _this_workspace(key: str) -> str:
    """`key` when it belongs to the workspace this host serves; else not found (whatever its signature)."""
    try:
        key_in_workspace(key, workspace=str(getattr(connection, "schema_name", "")))
    except KeyRefused as exc:
        raise Http404("No such file here.") from exc
    return key


def _refused(message: str, status: int) -> HttpResponse:
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


@require_GET
def file_download(request: HttpRequest, key: str) -> HttpResponseBase:
    storage = _local_storage()
    try:
        grant = local.download_verify(
            key,
            expires=request.GET.get("e", ""),
            disposition=request.GET.get("d", ""),
            content_type=request.GET.get("t", ""),
            signature=request.GET.get("s", ""),
        )
    except (local.SignatureRefused, KeyRefused) as exc:
        return _refused(getattr(exc, "message", "This link is not valid."), 403)
    _this_workspace(grant.key)
    try:
        handle = storage.open(grant.key, "rb")
    except FileNotFoundError as exc:
        raise Http404("No such file here.") from exc
    response = FileResponse(handle, content_type=grant.content_type or "application/octet-stream")
    response["Content-Disposition"] = grant.disposition
    response["Cache-Control"] = "private, max-age=60"
    response["Referrer-Policy"] = "no-referrer"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    if not grant.content_type.startswith("application/pdf"):
        response["Content-Security-Policy"] = SANDBOX
    return response


@csrf_exempt  # the signed policy is the permission, as with S3's presigned POST
@require_POST
def file_upload(request: HttpRequest) -> HttpResponse:
    storage = _local_storage()
    try:
        declared = declared_length(request)
    except LengthInvalid as exc:
        return _refused(str(exc), 400)
    if declared is None or declared > int(settings.STORAGE_UPLOAD_MAX_BYTES) + UPLOAD_OVERHEAD:
        return _refused("The file is larger than uploads may be.", 413)
    try:
        policy = local.upload_verify(
            key=request.POST.get("key", ""),
            policy=request.POST.get("policy", ""),
            signature=request.POST.get("signature", ""),
        )
    except (local.SignatureRefused, KeyRefused) as exc:
        return _refused(getattr(exc, "message", "The upload form is not valid."), 403)
    _this_workspace(policy.key)
    upload = request.FILES.get("file")
    if upload is None:
        return _refused("No file was sent.", 400)
    if not policy.min_bytes <= (upload.size or 0) <= policy.max_bytes:
        return _refused("The file's size is outside what this upload allows.", 400)
    try:
        storage.put(policy.key, upload, content_type="application/octet-stream")
    except KeyRefused:
        return _refused("A file was already uploaded here.", 409)
    return HttpResponse(status=204)
