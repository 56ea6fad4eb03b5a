"""What the export and import tests share: the `tenant` command, the schemas and public rows a test adds, a
workspace's rows and files, and taking an archive apart and putting it back together."""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
from io import StringIO
from pathlib import Path
from typing import Any

from django.contrib.auth.models import Permission
from django.core.management import call_command
from django_tenants.utils import tenant_context

from shared_apps.accounts.models import Membership, Role, User
from shared_apps.storage.backends import files
from shared_apps.workspaces import services
from tenant_apps.audit.models import AuditEntry
from tenant_apps.projects.models import Comment, Document, Project, ProjectUserObjectPermission, Task
from tenants.db import connection
from tenants.models import Tenant

MODELS = (Project, Task, Comment, ProjectUserObjectPermission, Document, AuditEntry)


def run(*args: str) -> str:
    out = StringIO()
    call_command("tenant", *args, stdout=out)
    return out.getvalue()


def workspace_schemas() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 't\\_%'")
        return {row[0] for row in cursor.fetchall()}


def public_marks() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.table_name FROM information_schema.columns c JOIN information_schema.tables t"
            " ON t.table_schema = c.table_schema AND t.table_name = c.table_name"
            " WHERE c.table_schema = 'public' AND c.column_name = 'id' AND t.table_type = 'BASE TABLE'"
            " AND c.data_type IN ('integer', 'bigint')"
        )
        tables = [row[0] for row in cursor.fetchall()]
        marks = {}
        for table in tables:
            cursor.execute(f'SELECT COALESCE(max(id), 0) FROM public."{table}"')  # noqa: S608
            marks[table] = cursor.fetchone()[0]
    return marks


def rows_of(tenant: Tenant) -> dict[str, list[dict[str, Any]]]:
    with tenant_context(tenant):
        return {m.__name__: [dict(r) for r in m.objects.order_by("id").values()] for m in MODELS}


def stored_files(prefix: str) -> dict[str, bytes]:
    storage = files()
    found = {}
    for obj in storage.iter_prefix(prefix):
        with storage.open_stream(obj.key) as stream:
            found[obj.key.removeprefix(prefix + "/")] = stream.read()
    return found


def workspace_with_data() -> tuple[Tenant, User, User]:
    tenant, owner = services.workspace_create(slug="roundtrip", name="Round Trip", owner_email="owner@rt.test")
    member = User.objects.create_user(email="member@rt.test", password="x-long-password-1")
    gone = User.objects.create_user(email="gone@rt.test", password="x-long-password-2")
    Membership.objects.create(user=member, tenant=tenant, role=Role.ADMIN)
    Membership.objects.create(user=gone, tenant=tenant, role=Role.MEMBER)
    schema = tenant.schema_name
    storage = files()
    storage.put(f"{schema}/files/{'a' * 32}.pdf", io.BytesIO(b"%PDF-1.4 report"), content_type="application/pdf")
    storage.put(f"{schema}/files/{'a' * 32}.thumb.webp", io.BytesIO(b"RIFFthumb"), content_type="image/webp")
    view = Permission.objects.get(codename="view_project", content_type__app_label="projects")
    with tenant_context(tenant):
        project = Project.objects.create(name="Launch", created_by=owner)
        task = Task.objects.create(project=project, title="Ship it", assignee=member, created_by=owner, position=3)
        Comment.objects.create(task=task, author=member, body="On it — ünïcode\ttab\nnewline")
        ProjectUserObjectPermission.objects.create(content_object=project, user=member, permission=view)
        Document.objects.create(
            project=project,
            task=task,
            storage_prefix=schema,
            key=f"{schema}/files/{'a' * 32}.pdf",
            thumbnail_key=f"{schema}/files/{'a' * 32}.thumb.webp",
            name="report.pdf",
            file_type="pdf",
            content_type="application/pdf",
            size=15,
            uploaded_by=member,
        )
        AuditEntry.objects.create(action="project.created", actor=owner, target_label="Launch")
    return tenant, owner, member


def rows_moved(rows: dict[str, list[dict[str, Any]]], old: str, new: str) -> dict[str, list[dict[str, Any]]]:
    """The rows as they should read after an import under `new`: storage prefix and keys moved."""
    out = {name: [dict(r) for r in items] for name, items in rows.items()}
    for doc in out["Document"]:
        doc["storage_prefix"] = new
        doc["key"] = doc["key"].replace(old + "/", new + "/", 1)
        doc["thumbnail_key"] = doc["thumbnail_key"].replace(old + "/", new + "/", 1)
    return out


def archive_members(path: Path) -> list[tuple[tarfile.TarInfo, bytes]]:
    with tarfile.open(path) as tar:
        return [(m, tar.extractfile(m).read() if m.isreg() else b"") for m in tar.getmembers()]  # type: ignore[union-attr]


def archive_write(path: Path, members: list[tuple[tarfile.TarInfo, bytes]]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            info.size = len(data) if info.isreg() else 0
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return path


def with_manifest(members: list[tuple[tarfile.TarInfo, bytes]], change: Any) -> list[tuple[tarfile.TarInfo, bytes]]:
    info, raw = members[0]
    manifest = json.loads(raw)
    change(manifest)
    return [(info, json.dumps(manifest).encode()), *members[1:]]


ROW_DEFAULTS = {
    "id": "424242",
    "name": "planted",
    "title": "planted",
    "description": "",
    "visibility": "workspace",
    "status": "todo",
    "position": "0",
    "created_at": "2026-01-01 00:00:00+00",
    "updated_at": "2026-01-01 00:00:00+00",
}


def with_row(members: list[tuple[tarfile.TarInfo, bytes]], row: dict[str, str] | None) -> Any:
    """The archive with one more row in a table's COPY block (projects_project unless `row["table"]` says), its values
    `ROW_DEFAULTS` and NULL but for `row`; None: a row of one column. Counts and checksum made to match."""

    one_column = row is None
    row = dict(row or {})
    table = row.pop("table", "projects_project")
    added: dict[str, int] = {}

    def insert(dump: bytes) -> bytes:
        header = re.search(rb"^COPY \S+\." + table.encode() + rb" \((.*)\) FROM stdin;\n", dump, re.M)
        assert header, table
        columns = [c.strip().strip('"') for c in header.group(1).decode().split(",")]
        values = ["1"] if one_column else [row.get(c, ROW_DEFAULTS.get(c, "\\N")) for c in columns]
        added[table] = 1
        return dump[: header.end()] + "\t".join(values).encode() + b"\n" + dump[header.end() :]

    edited = with_dump(members, insert)

    def count(m: dict[str, Any]) -> None:
        for name, n in added.items():
            m["database"]["tables"][name] += n

    return with_manifest(edited, count)


def with_dump(
    members: list[tuple[tarfile.TarInfo, bytes]], change: Any, *, changes: bool = True
) -> list[tuple[tarfile.TarInfo, bytes]]:
    """The archive with its dump rewritten by `change` (bytes → bytes) and the manifest's checksum made to match:
    what someone who edits an export by hand can do."""

    dump = next(i for i, (info, _data) in enumerate(members) if info.name.endswith("/schema.sql"))
    edited = change(members[dump][1])
    assert (edited != members[dump][1]) == changes
    out = list(members)
    out[dump] = (members[dump][0], edited)

    def checksum(m: dict[str, Any]) -> None:
        m["database"]["sha256"] = hashlib.sha256(edited).hexdigest()

    return with_manifest(out, checksum)
