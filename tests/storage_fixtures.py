"""Storage fixtures (a pytest plugin, see pyproject): tests that take `backend` run twice, on the filesystem backend
and on S3 — a moto server on loopback, started once per session and reached over HTTP through boto3 and
django-storages exactly as production reaches AWS (no in-process mocking). Each test gets an empty bucket and an
empty media folder. Also: files to upload, made on the spot."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
import urllib3
from botocore.config import Config
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

BUCKET = "atrium-test-media"
REGION = "us-east-1"
ACCESS_KEY = "atrium-test-key"
SECRET_KEY = "atrium-test-secret"


@dataclass(frozen=True)
class Moto:
    endpoint: str

    def client(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )

    def keys(self) -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
        return sorted(o["Key"] for page in pages for o in page.get("Contents", ()))


@pytest.fixture(scope="session")
def moto_server() -> Iterator[Moto]:
    from moto.server import ThreadedMotoServer  # noqa: PLC0415  (a pytest plugin: loaded before Django is set up)

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    moto = Moto(endpoint=f"http://{host}:{port}")
    moto.client().create_bucket(Bucket=BUCKET)
    try:
        yield moto
    finally:
        server.stop()


def moto_of(request: pytest.FixtureRequest, backend: str) -> Moto | None:
    """The S3 server when the test runs on the S3 backend (the `backend` fixture's value), else None."""
    return request.getfixturevalue("moto_server") if backend == "s3" else None


def send_signed(client: Client, signed: dict[str, Any], name: str, data: bytes) -> int:
    """POST a file with the signed fields (`url`, `fields`) an upload start answered, as a script or the page's script
    would: a path or this host's URL (the filesystem backend's /files/upload/) through the test client, the S3
    server's URL over HTTP. The status code."""
    url, fields = signed["url"], signed["fields"]
    parts = urlsplit(url)
    if not parts.netloc or parts.netloc == getattr(client, "host", None):
        return int(client.post(parts.path, {**fields, "file": SimpleUploadedFile(name, data)}).status_code)
    form: dict[str, Any] = {**fields, "file": (name, data, "application/octet-stream")}
    return int(urllib3.request("POST", url, fields=form, timeout=10).status)


def s3_storage_settings(moto: Moto, **options: Any) -> dict[str, Any]:
    return {
        "BACKEND": "shared_apps.storage.backends.TenantS3Storage",
        "OPTIONS": {
            "bucket_name": BUCKET,
            "endpoint_url": moto.endpoint,
            "region_name": REGION,
            "addressing_style": "path",
            "access_key": ACCESS_KEY,
            "secret_key": SECRET_KEY,
            **options,
        },
    }


@pytest.fixture(params=["filesystem", "s3"])
def backend(request: pytest.FixtureRequest, settings: Any) -> Iterator[str]:
    """Which storage the test runs on; STORAGES["default"] is switched for it."""
    if request.param == "s3":
        moto: Moto = request.getfixturevalue("moto_server")
        settings.STORAGES = {**settings.STORAGES, "default": s3_storage_settings(moto)}
        client = moto.client()
        yield "s3"
        keys = moto.keys()
        for start in range(0, len(keys), 1000):
            client.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": k} for k in keys[start : start + 1000]]})
    else:
        yield "filesystem"


def stored_keys(moto_or_none: Moto | None = None) -> list[str]:
    """Every key in storage, whichever backend is configured."""
    from django.core.files.storage import storages  # noqa: PLC0415  (a pytest plugin: loaded before Django is set up)

    from shared_apps.storage.backends import TenantFileSystemStorage  # noqa: PLC0415  (a pytest plugin: loaded before Django is set up)

    storage = storages["default"]
    if isinstance(storage, TenantFileSystemStorage):
        from pathlib import Path  # noqa: PLC0415  (a pytest plugin: loaded before Django is set up)

        root = Path(storage.location)
        return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert moto_or_none is not None
    return moto_or_none.keys()


# --- files to upload -----------------------------------------------------------------------------------------------


def png(width: int = 64, height: int = 48, color: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def jpeg(width: int = 64, height: int = 48) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (10, 120, 200)).save(out, "JPEG", quality=80)
    return out.getvalue()


def gif() -> bytes:
    out = io.BytesIO()
    Image.new("P", (16, 16), 3).save(out, "GIF")
    return out.getvalue()


def webp() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (0, 200, 0)).save(out, "WEBP")
    return out.getvalue()


def pdf() -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )


def zip_archive(entries: dict[str, bytes] | None = None) -> bytes:
    import zipfile  # noqa: PLC0415  (a pytest plugin: loaded before Django is set up)

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in (entries or {"notes.txt": b"hello"}).items():
            archive.writestr(name, data)
    return out.getvalue()


def docx() -> bytes:
    return zip_archive({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})


def png_bomb(width: int = 40_000, height: int = 40_000) -> bytes:
    """A PNG that declares `width` by `height` pixels in a few hundred bytes (its rows compress to almost nothing)."""
    import struct  # noqa: PLC0415  (a pytest plugin: loaded before Django is set up)
    import zlib  # noqa: PLC0415  (a pytest plugin: loaded before Django is set up)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    compressor = zlib.compressobj(9)
    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    body = b"".join(compressor.compress(row) for _ in range(64)) + compressor.flush()
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
