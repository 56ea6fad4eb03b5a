"""The storage layer: two backends behind Django's STORAGES["default"], with the same key rules and the same
operations.

- `TenantS3Storage` (django-storages' S3Storage on boto3) when AWS_STORAGE_BUCKET_NAME is set: private objects (no
  ACL is ever sent, so the bucket's own "private" applies; no public bucket policy is needed), no overwriting, no
  shared `location` (the key itself carries the workspace), downloads as presigned GETs valid at most 60 s signed
  in-process (`sigv4.Presigner`), direct uploads as presigned POSTs whose policy pins the key and a size range.
- `TenantFileSystemStorage` (Django's FileSystemStorage) under MEDIA_ROOT otherwise (`make run`, `make test`):
  the same keys, and signed URLs the app serves itself (`local.py`, `views.py`) that expire like S3's.

Every method that takes a key checks it first (`keys.key_check`): a key with `..`, an absolute path, or no workspace
prefix never reaches the disk or the bucket. Beyond Django's Storage API both offer what the product and the
lifecycle need: `sign_download`, `sign_upload`, `head`, `read_range`, `open_stream`, `iter_prefix`, `delete_many`,
`put`, `ping`.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol, cast

from botocore.exceptions import ClientError
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files import File
from django.core.files.storage import FileSystemStorage, storages
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from storages.backends.s3 import S3Storage

from shared_apps.core.errors import ApplicationError
from shared_apps.storage import local
from shared_apps.storage.keys import KeyRefused, key_check, prefix_check
from shared_apps.storage.sigv4 import Credentials, Endpoint, Presigner

MAX_URL_EXPIRY = 60  # seconds a download URL may live, whatever the settings say
DELETE_BATCH = 1000  # S3's DeleteObjects takes at most 1,000 keys


class StorageUnavailable(ApplicationError):
    """The storage service did not answer as expected."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int


@dataclass(frozen=True)
class UploadForm:
    """What a browser POSTs straight to storage: `fields` first, then the file as `file`."""

    url: str
    fields: dict[str, str]
    key: str
    max_bytes: int
    expires_at: int


def disposition(filename: str, *, inline: bool) -> str:
    return content_disposition_header(not inline, filename) or "attachment"


class TenantStorage(Protocol):
    """What both backends offer (beyond Django's Storage API)."""

    def sign_download(
        self, key: str, *, filename: str, content_type: str, inline: bool, expires: int | None = None
    ) -> str: ...

    def sign_upload(
        self, key: str, *, max_bytes: int, min_bytes: int = 1, expires: int | None = None
    ) -> UploadForm: ...

    def head(self, key: str) -> int | None: ...

    def read_range(self, key: str, start: int, length: int) -> bytes: ...

    def open_stream(self, key: str) -> contextlib.AbstractContextManager[IO[bytes]]: ...

    def iter_prefix(self, prefix: str) -> Iterator[StoredObject]: ...

    def delete_many(self, keys: Iterable[str]) -> int: ...

    def put(self, key: str, content: IO[bytes], *, content_type: str) -> int: ...

    def ping(self) -> None: ...

    def exists(self, name: str) -> bool: ...

    def delete(self, name: str) -> None: ...


def files() -> TenantStorage:
    """The configured storage (STORAGES["default"]), which must be one of the two above."""
    storage = storages["default"]
    if not isinstance(storage, TenantFileSystemStorage | TenantS3Storage):
        raise ImproperlyConfigured(
            "STORAGES['default'] must be shared_apps.storage.backends.TenantS3Storage or TenantFileSystemStorage."
        )
    return cast(TenantStorage, storage)


def _expiry(expires: int | None) -> int:
    return max(1, min(int(expires or settings.STORAGE_URL_EXPIRY), MAX_URL_EXPIRY))


def _chunks(keys: Iterable[str], size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for key in keys:
        batch.append(key)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class _Named(File):
    content_type: str


# ---------------------------------------------------------------------------------------------------------------------
# The local filesystem
# ---------------------------------------------------------------------------------------------------------------------


class TenantFileSystemStorage(FileSystemStorage):
    """Files under MEDIA_ROOT (`.data/media`), keys checked, never overwritten, readable by this user only."""

    def __init__(self, location: str | os.PathLike[str] | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("file_permissions_mode", 0o600)
        kwargs.setdefault("directory_permissions_mode", 0o700)
        kwargs.pop("allow_overwrite", None)
        super().__init__(location=location, base_url=local.URL_PREFIX, allow_overwrite=False, **kwargs)

    # Django's API, every key checked first --------------------------------------------------------------------------
    def path(self, name: str) -> str:
        return super().path(key_check(name, directory=True))

    def _open(self, name: str, mode: str = "rb") -> File:
        return super()._open(key_check(name), mode)  # type: ignore[misc]

    def _save(self, name: str, content: File) -> str:
        return str(super()._save(key_check(name), content))  # type: ignore[misc]

    def delete(self, name: str) -> None:
        super().delete(key_check(name))

    def exists(self, name: str) -> bool:
        return super().exists(key_check(name))

    def size(self, name: str) -> int:
        return super().size(key_check(name))

    def listdir(self, path: str) -> tuple[list[str], list[str]]:
        return super().listdir(key_check(path, directory=True))

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        return super().get_available_name(key_check(name), max_length)

    def url(self, name: str | None) -> str:
        assert name is not None  # noqa: S101
        return self.sign_download(name, filename=name.rsplit("/", 1)[-1], content_type="", inline=False)

    # What the product and the lifecycle need ------------------------------------------------------------------------
    def sign_download(
        self, key: str, *, filename: str, content_type: str, inline: bool, expires: int | None = None
    ) -> str:
        key_check(key)
        return local.download_url(
            key,
            expires_at=int(time.time()) + _expiry(expires),
            disposition=disposition(filename, inline=inline),
            content_type=content_type,
        )

    def sign_upload(self, key: str, *, max_bytes: int, min_bytes: int = 1, expires: int | None = None) -> UploadForm:
        key_check(key)
        expires_at = int(time.time()) + int(expires or settings.STORAGE_UPLOAD_EXPIRY)
        fields = local.upload_fields(key, min_bytes=min_bytes, max_bytes=max_bytes, expires_at=expires_at)
        return UploadForm(url=local.UPLOAD_PATH, fields=fields, key=key, max_bytes=max_bytes, expires_at=expires_at)

    def head(self, key: str) -> int | None:
        try:
            return os.stat(self.path(key_check(key))).st_size
        except FileNotFoundError:
            return None

    def read_range(self, key: str, start: int, length: int) -> bytes:
        with open(self.path(key_check(key)), "rb") as fh:
            fh.seek(start)
            return fh.read(length)

    @contextlib.contextmanager
    def open_stream(self, key: str) -> Iterator[IO[bytes]]:
        with open(self.path(key_check(key)), "rb") as fh:
            yield fh

    def iter_prefix(self, prefix: str) -> Iterator[StoredObject]:
        root = Path(self.path(prefix_check(prefix)))
        if not root.is_dir() or root.is_symlink():
            return
        base = Path(self.location)
        for directory, dirnames, filenames in os.walk(root, followlinks=False):
            dirnames.sort()
            for filename in sorted(filenames):
                full = Path(directory) / filename
                if full.is_symlink() or not full.is_file():
                    continue
                yield StoredObject(key=full.relative_to(base).as_posix(), size=full.stat().st_size)

    def delete_many(self, keys: Iterable[str]) -> int:
        deleted = 0
        for key in keys:
            try:
                os.remove(self.path(key_check(key)))
                deleted += 1
            except FileNotFoundError:
                pass
        return deleted

    def prune_empty(self, prefix: str) -> None:
        """Remove the empty folders left under `prefix` (after a purge)."""
        root = Path(self.path(prefix_check(prefix)))
        if not root.is_dir():
            return
        for directory, _dirs, _files in sorted(os.walk(root, topdown=False), key=lambda w: -len(w[0])):
            with contextlib.suppress(OSError):
                os.rmdir(directory)

    def put(self, key: str, content: IO[bytes], *, content_type: str) -> int:
        key_check(key)
        if self.exists(key):
            raise KeyRefused(_("A file already exists at that key; files are never overwritten."))
        saved = self.save(key, File(content))
        if saved != key:  # pragma: no cover  (another writer took the key between the check and the write)
            self.delete(saved)
            raise KeyRefused(_("A file already exists at that key; files are never overwritten."))
        return self.size(key)

    def ping(self) -> None:
        location = Path(self.location)
        location.mkdir(parents=True, exist_ok=True)
        if not os.access(location, os.W_OK):
            raise StorageUnavailable(_("%(location)s is not writable.") % {"location": location})


# ---------------------------------------------------------------------------------------------------------------------
# S3
# ---------------------------------------------------------------------------------------------------------------------


class TenantS3Storage(S3Storage):
    """A private bucket through django-storages and boto3; keys checked, never overwritten, no shared location."""

    def get_default_settings(self) -> dict[str, Any]:
        defaults: dict[str, Any] = super().get_default_settings()
        defaults.update(
            {
                "default_acl": None,
                "file_overwrite": False,
                "querystring_auth": True,
                "querystring_expire": MAX_URL_EXPIRY,
                "signature_version": "s3v4",
                "location": "",
                "custom_domain": None,
                # Atrium's own: the origin browsers reach the bucket at (a separate user-content domain, or the
                # public address of an S3-compatible server); empty: endpoint_url, or AWS itself.
                "user_content_url": None,
            }
        )
        return defaults

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        if self.location:
            raise ImproperlyConfigured("TenantS3Storage has no shared location: every key carries its workspace.")
        if self.file_overwrite:
            raise ImproperlyConfigured("TenantS3Storage never overwrites a file (file_overwrite=False).")
        if self.default_acl not in (None, "private"):
            raise ImproperlyConfigured("TenantS3Storage objects are private: no public ACL.")
        if self.custom_domain:
            raise ImproperlyConfigured("Use user_content_url: a custom domain would serve private files unsigned.")
        self.signing_region: str = str(getattr(self, "region_name", None) or "us-east-1")
        self._presigner: Presigner | None = None

    @property
    def client(self) -> Any:
        return self.connection.meta.client

    # Django's API, every key checked first --------------------------------------------------------------------------
    def _open(self, name: str, mode: str = "rb") -> File:
        return super()._open(key_check(name), mode)

    def _save(self, name: str, content: File) -> str:
        return str(super()._save(key_check(name), content))

    def delete(self, name: str) -> None:
        super().delete(key_check(name))

    def exists(self, name: str) -> bool:
        return bool(super().exists(key_check(name)))

    def size(self, name: str) -> int:
        return int(super().size(key_check(name)))

    def get_modified_time(self, name: str) -> Any:
        return super().get_modified_time(key_check(name))

    def listdir(self, name: str) -> tuple[list[str], list[str]]:
        return cast(tuple[list[str], list[str]], super().listdir(key_check(name, directory=True)))

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        return str(super().get_available_name(key_check(name), max_length))

    def url(
        self, name: str, parameters: dict[str, str] | None = None, expire: int | None = None, http_method: Any = None
    ) -> str:
        key_check(name)
        return self.presigner.url(name, expires=_expiry(expire), params=parameters)

    # Signing ----------------------------------------------------------------------------------------------------------
    def _browser_endpoint(self) -> Endpoint:
        return Endpoint.for_bucket(
            endpoint_url=self.user_content_url or self.endpoint_url,
            bucket=self.bucket_name,
            region=self.signing_region,
            addressing_style=self.addressing_style,
        )

    def _credentials(self) -> Credentials:
        if self.access_key and self.secret_key:
            return Credentials(self.access_key, self.secret_key, self.security_token or None)
        found = self._create_session().get_credentials()
        if found is None:
            raise ImproperlyConfigured("No AWS credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a role.")
        frozen = found.get_frozen_credentials()
        return Credentials(frozen.access_key, frozen.secret_key, frozen.token)

    @property
    def presigner(self) -> Presigner:
        if self._presigner is None:
            self._presigner = Presigner(
                endpoint=self._browser_endpoint(), region=self.signing_region, credentials=self._credentials
            )
        return self._presigner

    def sign_download(
        self, key: str, *, filename: str, content_type: str, inline: bool, expires: int | None = None
    ) -> str:
        key_check(key)
        params = {"response-content-disposition": disposition(filename, inline=inline)}
        if content_type:
            params["response-content-type"] = content_type
        return self.presigner.url(key, expires=_expiry(expires), params=params)

    def _encryption(self) -> dict[str, str]:
        params = self.object_parameters or {}
        found = {}
        if params.get("ServerSideEncryption"):
            found["x-amz-server-side-encryption"] = str(params["ServerSideEncryption"])
        if params.get("SSEKMSKeyId"):
            found["x-amz-server-side-encryption-aws-kms-key-id"] = str(params["SSEKMSKeyId"])
        return found

    def sign_upload(self, key: str, *, max_bytes: int, min_bytes: int = 1, expires: int | None = None) -> UploadForm:
        key_check(key)
        expiry = int(expires or settings.STORAGE_UPLOAD_EXPIRY)
        encryption = self._encryption()
        conditions: list[Any] = [["content-length-range", min_bytes, max_bytes]]
        conditions += [{name: value} for name, value in encryption.items()]
        post = self.client.generate_presigned_post(
            Bucket=self.bucket_name, Key=key, Fields=dict(encryption), Conditions=conditions, ExpiresIn=expiry
        )
        endpoint = self._browser_endpoint()
        url = f"{endpoint.scheme}://{endpoint.host}{endpoint.base_path or '/'}"
        fields = {str(k): str(v) for k, v in post["fields"].items()}
        return UploadForm(url=url, fields=fields, key=key, max_bytes=max_bytes, expires_at=int(time.time()) + expiry)

    # Objects --------------------------------------------------------------------------------------------------------
    def head(self, key: str) -> int | None:
        try:
            found = self.client.head_object(Bucket=self.bucket_name, Key=key_check(key))
        except ClientError as exc:
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                return None
            raise
        return int(found["ContentLength"])

    def read_range(self, key: str, start: int, length: int) -> bytes:
        if length <= 0:
            return b""
        found = self.client.get_object(
            Bucket=self.bucket_name, Key=key_check(key), Range=f"bytes={start}-{start + length - 1}"
        )
        return bytes(found["Body"].read())

    @contextlib.contextmanager
    def open_stream(self, key: str) -> Iterator[IO[bytes]]:
        try:
            body = self.client.get_object(Bucket=self.bucket_name, Key=key_check(key))["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise FileNotFoundError(key) from exc
            raise
        try:
            yield body
        finally:
            body.close()

    def iter_prefix(self, prefix: str) -> Iterator[StoredObject]:
        paginator = self.client.get_paginator("list_objects_v2")
        # The trailing slash: `t_abc/` never matches `t_abcd/…`.
        for page in paginator.paginate(Bucket=self.bucket_name, Prefix=prefix_check(prefix) + "/"):
            for entry in page.get("Contents", ()):
                yield StoredObject(key=str(entry["Key"]), size=int(entry["Size"]))

    def delete_many(self, keys: Iterable[str]) -> int:
        deleted = 0
        for batch in _chunks((key_check(k) for k in keys), DELETE_BATCH):
            answer = self.client.delete_objects(
                Bucket=self.bucket_name, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True}
            )
            errors = answer.get("Errors") or []
            if errors:
                raise StorageUnavailable(
                    _("S3 refused to delete %(len)s object(s): %(get)s")
                    % {"len": len(errors), "get": errors[0].get("Message")}
                )
            deleted += len(batch)
        return deleted

    def put(self, key: str, content: IO[bytes], *, content_type: str) -> int:
        """Store `content` at exactly `key` (one HEAD, the PUT, one HEAD for the size S3 recorded)."""
        key_check(key)
        if self.head(key) is not None:
            raise KeyRefused(_("A file already exists at that key; files are never overwritten."))
        wrapped = _Named(content)
        wrapped.content_type = content_type
        self._save(key, wrapped)
        return int(self.head(key) or 0)

    def ping(self) -> None:
        self.client.head_bucket(Bucket=self.bucket_name)
