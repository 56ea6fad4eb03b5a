"""Both backends behave alike: exact keys, never overwritten, listings bounded by the prefix, batched deletes; S3
objects are private (no ACL is ever sent, and an unsigned request is refused)."""

from __future__ import annotations

import io
import os
import stat
import urllib.error
import urllib.request
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from shared_apps.storage.backends import TenantFileSystemStorage, TenantS3Storage, files
from shared_apps.storage.keys import KeyRefused
from tests.storage_fixtures import BUCKET, Moto, s3_storage_settings, stored_keys


def test_put_head_read_stream_list_and_delete(backend: str, request: pytest.FixtureRequest) -> None:
    storage = files()
    storage.put("t_aaaaaaaaaa/files/a.txt", io.BytesIO(b"hello world"), content_type="text/plain")
    storage.put("t_aaaaaaaaaa/files/b.txt", io.BytesIO(b"bye"), content_type="text/plain")
    storage.put("t_aaaaaaaaaab/files/c.txt", io.BytesIO(b"a longer prefix"), content_type="text/plain")

    assert storage.head("t_aaaaaaaaaa/files/a.txt") == 11
    assert storage.head("t_aaaaaaaaaa/files/missing.txt") is None
    assert storage.read_range("t_aaaaaaaaaa/files/a.txt", 6, 5) == b"world"
    with storage.open_stream("t_aaaaaaaaaa/files/a.txt") as stream:
        assert stream.read(5) == b"hello"
    listed = sorted((o.key, o.size) for o in storage.iter_prefix("t_aaaaaaaaaa"))
    assert listed == [("t_aaaaaaaaaa/files/a.txt", 11), ("t_aaaaaaaaaa/files/b.txt", 3)]  # not t_aaaaaaaaaab's

    assert storage.delete_many(["t_aaaaaaaaaa/files/a.txt", "t_aaaaaaaaaa/files/b.txt"]) >= 1
    assert list(storage.iter_prefix("t_aaaaaaaaaa")) == []
    assert storage.exists("t_aaaaaaaaaab/files/c.txt")


def test_files_are_never_overwritten(backend: str) -> None:
    storage = files()
    storage.put("t_aaaaaaaaaa/files/a.txt", io.BytesIO(b"first"), content_type="text/plain")

    with pytest.raises(KeyRefused, match="never overwritten"):
        storage.put("t_aaaaaaaaaa/files/a.txt", io.BytesIO(b"second"), content_type="text/plain")
    other = default_storage.save("t_aaaaaaaaaa/files/a.txt", ContentFile(b"third"))  # Django's API picks a new name

    assert other != "t_aaaaaaaaaa/files/a.txt"
    assert other.startswith("t_aaaaaaaaaa/files/a")
    assert storage.read_range("t_aaaaaaaaaa/files/a.txt", 0, 10) == b"first"


def test_local_files_are_readable_by_this_user_only(settings: Any) -> None:
    storage = files()
    assert isinstance(storage, TenantFileSystemStorage)
    storage.put("t_aaaaaaaaaa/files/a.txt", io.BytesIO(b"secret"), content_type="text/plain")

    mode = os.stat(storage.path("t_aaaaaaaaaa/files/a.txt")).st_mode
    assert stat.S_IMODE(mode) == 0o600
    assert stat.S_IMODE(os.stat(storage.path("t_aaaaaaaaaa")).st_mode) == 0o700


def test_s3_objects_are_private(backend: str, request: pytest.FixtureRequest) -> None:
    if backend != "s3":
        pytest.skip("S3 only")
    moto: Moto = request.getfixturevalue("moto_server")
    files().put("t_aaaaaaaaaa/files/a.txt", io.BytesIO(b"secret"), content_type="text/plain")

    acl = moto.client().get_object_acl(Bucket=BUCKET, Key="t_aaaaaaaaaa/files/a.txt")
    grantees = [g["Grantee"].get("URI", "") for g in acl["Grants"]]
    assert not [g for g in grantees if "AllUsers" in g or "AuthenticatedUsers" in g]
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{moto.endpoint}/{BUCKET}/t_aaaaaaaaaa/files/a.txt", timeout=5)  # noqa: S310
    assert refused.value.code == 403
    assert stored_keys(moto) == ["t_aaaaaaaaaa/files/a.txt"]


def test_s3_storage_refuses_settings_that_would_share_or_publish_files(moto_server: Moto) -> None:

    options = s3_storage_settings(moto_server)["OPTIONS"]
    for unsafe in (
        {"location": "media"},
        {"file_overwrite": True},
        {"default_acl": "public-read"},
        {"custom_domain": "cdn.example.com"},
    ):
        with pytest.raises(ImproperlyConfigured):
            TenantS3Storage(**{**options, **unsafe})
