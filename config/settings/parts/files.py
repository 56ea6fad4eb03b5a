"""Files (shared_apps/storage): one storage layer, two backends with the same key rules and signed URLs. With
AWS_STORAGE_BUCKET_NAME set, S3 (django-storages + boto3: private objects, keys prefixed by the workspace, presigned
GETs and POSTs); otherwise the local filesystem under MEDIA_ROOT, served by the app through signed, expiring URLs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from config.env import BASE_DIR, env

MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / ".data" / "media")))
AWS_STORAGE_BUCKET_NAME: str = env.str("AWS_STORAGE_BUCKET_NAME", default="")
# Seconds a download URL lives (at most 60, whatever is set) and a direct-upload form stays usable.
STORAGE_URL_EXPIRY: int = min(env.int("STORAGE_URL_EXPIRY", default=60), 60)
STORAGE_UPLOAD_EXPIRY: int = env.int("STORAGE_UPLOAD_EXPIRY", default=600)
# Seconds an upload that was signed and never confirmed holds its bytes before a task deletes it.
STORAGE_RESERVATION_TTL: int = env.int("STORAGE_RESERVATION_TTL", default=3600)
# The largest file one upload may be (the workspace's total is its plan's storage limit).
STORAGE_UPLOAD_MAX_BYTES: int = env.int("STORAGE_UPLOAD_MAX_BYTES", default=50 * 1024 * 1024)
# Images with more pixels than this are refused (decompression bombs); Pillow's MAX_IMAGE_PIXELS is set to it.
STORAGE_IMAGE_MAX_PIXELS: int = env.int("STORAGE_IMAGE_MAX_PIXELS", default=40_000_000)


def storage_backend() -> dict[str, Any]:
    """STORAGES["default"]: the S3 bucket when AWS_STORAGE_BUCKET_NAME is set, else the filesystem under MEDIA_ROOT."""
    if not AWS_STORAGE_BUCKET_NAME:
        return {"BACKEND": "shared_apps.storage.backends.TenantFileSystemStorage", "OPTIONS": {"location": MEDIA_ROOT}}
    encryption = env.str("AWS_S3_SSE", default="")  # "", "AES256" or "aws:kms"
    object_parameters: dict[str, str] = {"ServerSideEncryption": encryption} if encryption else {}
    if encryption == "aws:kms" and env.str("AWS_S3_SSE_KMS_KEY_ID", default=""):
        object_parameters["SSEKMSKeyId"] = env.str("AWS_S3_SSE_KMS_KEY_ID")
    return {
        "BACKEND": "shared_apps.storage.backends.TenantS3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("AWS_S3_REGION_NAME", default="us-east-1"),
            "addressing_style": env.str("AWS_S3_ADDRESSING_STYLE", default="") or None,
            # Empty: boto3's own chain (instance role, web identity, ~/.aws).
            "access_key": env.str("AWS_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("AWS_SECRET_ACCESS_KEY", default="") or None,
            "security_token": env.str("AWS_SESSION_TOKEN", default="") or None,
            "object_parameters": object_parameters,
            "user_content_url": env.str("AWS_S3_USER_CONTENT_URL", default="") or None,
        },
    }


STORAGES: dict[str, dict[str, Any]] = {
    "default": storage_backend(),
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
