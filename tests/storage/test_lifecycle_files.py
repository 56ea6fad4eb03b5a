"""A workspace's files follow its lifecycle, on both backends: a purge deletes every object under its prefix and
nothing outside it, in batches, with progress, and resumes after an interruption; an export carries its files,
streamed into the archive."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import tarfile
import tracemalloc
from collections.abc import Iterator
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from shared_apps.storage import purge
from shared_apps.storage.backends import files
from shared_apps.storage.models import StoragePurge, StorageUsage
from shared_apps.storage.tasks import purges_resume
from shared_apps.workspaces import services
from tenants import lifecycle
from tenants.models import Tenant
from tests.storage_fixtures import BUCKET, Moto, stored_keys


@pytest.fixture
def doomed(db: None, _session_tenants: dict[str, Tenant], settings: Any) -> Tenant:
    settings.TENANT_POOL_SIZE = 0
    tenant, _owner = services.workspace_create(slug="doomed", name="Doomed Ltd", owner_email="d@doomed.test")
    return tenant


def _put(key: str, data: bytes = b"x" * 100) -> None:
    files().put(key, io.BytesIO(data), content_type="application/octet-stream")


def _outside_any_prefix(backend: str, moto: Moto | None) -> str:
    """An object no workspace owns, written around the storage classes (which would refuse it)."""
    if moto is not None:
        moto.client().put_object(Bucket=BUCKET, Key="operators/readme.txt", Body=b"keep me")
    else:
        path = Path(files().location) / "operators" / "readme.txt"  # type: ignore[attr-defined]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"keep me")
    return "operators/readme.txt"


def test_a_purge_deletes_exactly_the_workspaces_prefix_with_progress(
    backend: str,
    request: pytest.FixtureRequest,
    doomed: Tenant,
    other_tenant: Tenant,
    django_capture_on_commit_callbacks: Any,
) -> None:
    moto = request.getfixturevalue("moto_server") if backend == "s3" else None
    schema = doomed.schema_name
    for i in range(5):
        _put(f"{schema}/files/{i:032x}.pdf")
    _put(f"{schema}/files/nested/deeper/{'f' * 32}.txt")
    StorageUsage.objects.create(prefix=schema, committed_bytes=600, object_count=6)
    kept = [
        f"{other_tenant.schema_name}/files/{'a' * 32}.pdf",
        f"{schema}z/files/{'b' * 32}.pdf",  # a longer prefix that starts with the doomed one
        _outside_any_prefix(backend, moto),
    ]
    _put(kept[0])
    _put(kept[1])
    services.workspace_schedule_deletion(tenant=doomed, acting_user=None)

    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("tenant", "purge", "doomed", "--yes", stdout=out)

    assert sorted(stored_keys(moto)) == sorted(kept)
    assert "files: 6 deleted, 600 B of ~600 B" in out.getvalue()
    assert not StorageUsage.objects.filter(prefix=schema).exists()
    record = StoragePurge.objects.get(prefix=schema)
    assert (record.deleted_objects, record.deleted_bytes, record.finished_at is not None) == (6, 600, True)


def test_an_interrupted_purge_resumes_where_it_stopped(
    db: None, backend: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    moto = request.getfixturevalue("moto_server") if backend == "s3" else None
    prefix = "t_gonegonegone"
    for i in range(7):
        _put(f"{prefix}/files/{i:032x}.pdf", b"y" * 10)
    purge.purge_request(prefix)
    storage = files()
    original = storage.delete_many
    calls = {"n": 0}

    def flaky(keys: Any) -> int:
        calls["n"] += 1
        if calls["n"] == 2:
            raise ConnectionError("the network went away")
        return original(keys)

    monkeypatch.setattr(storage, "delete_many", flaky)
    with pytest.raises(ConnectionError):
        purge.purge_run(prefix, batch=3)
    assert len(stored_keys(moto)) == 4
    assert purge.purge_run(prefix) is None  # its lease still holds: nobody else starts on it
    monkeypatch.setattr(storage, "delete_many", original)
    StoragePurge.objects.filter(prefix=prefix).update(lease_until=timezone.now() - timedelta(seconds=1))

    assert purges_resume() == 1

    assert stored_keys(moto) == []
    record = StoragePurge.objects.get(prefix=prefix)
    assert (record.deleted_objects, record.deleted_bytes) == (7, 70)
    assert record.finished_at is not None
    assert purges_resume() == 0


def test_an_export_streams_the_workspaces_files_into_the_archive(
    backend: str, tenant: Tenant, other_tenant: Tenant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = bytes(range(256)) * (12 * 4096)  # 12 MiB that gzip cannot shrink much
    key = f"{tenant.schema_name}/files/{'c' * 32}.zip"
    _put(key, big)
    _put(f"{other_tenant.schema_name}/files/{'d' * 32}.pdf")

    storage = files()
    opened = storage.open_stream
    reads: list[int] = []

    @contextlib.contextmanager
    def watched(name: str) -> Iterator[Any]:
        with opened(name) as stream:
            real = stream.read

            def read(size: int = -1) -> bytes:
                reads.append(size)
                return bytes(real(size))

            stream.read = read  # type: ignore[method-assign]
            yield stream

    monkeypatch.setattr(storage, "open_stream", watched)
    tracemalloc.start()
    try:
        archive = lifecycle.tenant_archive_write(tenant=tenant, output=tmp_path / "acme.tar.gz", members=[])
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert reads, "the file was read from storage"
    assert all(0 < size <= 1024 * 1024 for size in reads), reads  # in chunks, never whole
    if backend == "filesystem":  # (the S3 server runs in this process and holds the object in memory itself)
        assert peak < len(big) // 2, f"the export held {peak / 2**20:.1f} MiB at once"
    with tarfile.open(archive) as tar:
        root = tar.getnames()[0].split("/")[0]
        stored = tar.extractfile(f"{root}/files/files/{'c' * 32}.zip")
        assert stored is not None
        assert hashlib.sha256(stored.read()).hexdigest() == hashlib.sha256(big).hexdigest()
        manifest = json.loads(tar.extractfile(f"{root}/manifest.json").read())  # type: ignore[union-attr]
    assert manifest["files"] == [
        {"path": f"files/{'c' * 32}.zip", "size": len(big), "sha256": hashlib.sha256(big).hexdigest()}
    ]
    assert manifest["files_bytes"] == len(big)
