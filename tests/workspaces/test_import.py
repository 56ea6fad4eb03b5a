"""`tenant import`: an export restores into a new workspace. The round trip (export → purge → import) gives back the
same rows, files and audit log; hostile archives are refused before anything is written; an import never touches
the workspace it came from.

pg_dump reads what is committed, so the round trip runs outside the test's transaction (`committed`): what it adds
to the public schema, and the schemas it makes, are removed after."""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
import tracemalloc
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import CommandError, call_command
from django.db import models, transaction
from django_tenants.utils import schema_exists, tenant_context

from shared_apps.accounts.models import Invitation, Membership, Role, User
from shared_apps.storage.backends import files
from shared_apps.storage.fields import StorageKeyField
from shared_apps.workspaces import services
from shared_apps.workspaces.services import archive_import
from tenant_apps.audit.models import AuditEntry
from tenant_apps.projects.models import (
    Comment,
    Document,
    Project,
    ProjectGroupObjectPermission,
    ProjectUserObjectPermission,
    Task,
)
from tenants import routing
from tenants.db import connection
from tenants.models import Domain, Tenant
from tenants.references import schema_apps, tables
from tenants.restore import storage_columns

MODELS = (Project, Task, Comment, ProjectUserObjectPermission, Document, AuditEntry)


def run(*args: str) -> str:
    out = StringIO()
    call_command("tenant", *args, stdout=out)
    return out.getvalue()


def _schemas() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 't\\_%'")
        return {row[0] for row in cursor.fetchall()}


def _public_marks() -> dict[str, int]:
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


@pytest.fixture
def committed(_session_tenants: dict[str, Tenant], django_db_blocker: Any, settings: Any) -> Iterator[None]:
    """The test's writes are committed (pg_dump sees them); every public row and schema it added is removed after.
    The test database is set up for the tests that ask for `db`: select these with at least one of them (the module's
    hostile-archive tests are), as `pytest tests/workspaces/test_import.py` does."""
    settings.TENANT_POOL_SIZE = 0
    with django_db_blocker.unblock():
        marks, schemas = _public_marks(), _schemas()
        try:
            yield
        finally:
            connection.set_schema_to_public()
            with transaction.atomic(), connection.cursor() as cursor:
                for schema in sorted(_schemas() - schemas):
                    cursor.execute(f'DROP SCHEMA "{schema}" CASCADE')
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
                for table, mark in marks.items():
                    cursor.execute(f'DELETE FROM public."{table}" WHERE id > %s', [mark])  # noqa: S608
            routing.clear()


def _rows(tenant: Tenant) -> dict[str, list[dict[str, Any]]]:
    with tenant_context(tenant):
        return {m.__name__: [dict(r) for r in m.objects.order_by("id").values()] for m in MODELS}


def _stored(prefix: str) -> dict[str, bytes]:
    storage = files()
    found = {}
    for obj in storage.iter_prefix(prefix):
        with storage.open_stream(obj.key) as stream:
            found[obj.key.removeprefix(prefix + "/")] = stream.read()
    return found


def _workspace_with_data() -> tuple[Tenant, User, User]:
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


def _moved(rows: dict[str, list[dict[str, Any]]], old: str, new: str) -> dict[str, list[dict[str, Any]]]:
    """The rows as they should read after an import under `new`: storage prefix and keys moved."""
    out = {name: [dict(r) for r in items] for name, items in rows.items()}
    for doc in out["Document"]:
        doc["storage_prefix"] = new
        doc["key"] = doc["key"].replace(old + "/", new + "/", 1)
        doc["thumbnail_key"] = doc["thumbnail_key"].replace(old + "/", new + "/", 1)
    return out


@pytest.mark.usefixtures("committed")
def test_export_purge_import_gives_back_the_same_rows_files_and_audit_log(tmp_path: Path) -> None:
    # given a workspace with projects, tasks, comments, grants, documents and their files, exported then purged
    tenant, owner, member = _workspace_with_data()
    old = tenant.schema_name
    before, stored = _rows(tenant), _stored(old)
    archive = tmp_path / "rt.tar.gz"
    run("export", "roundtrip", "--output", str(archive))
    services.workspace_schedule_deletion(tenant=tenant, acting_user=None)
    run("purge", "roundtrip", "--yes")
    User.objects.filter(email="gone@rt.test").update(email="renamed@rt.test")  # no account has that email now
    assert not schema_exists(old)
    assert _stored(old) == {}

    # when
    output = run("import", str(archive), "--slug", "restored")

    # then
    assert "Manifest: Round Trip" in output
    assert "Imported Round Trip at http://restored.localhost/" in output
    restored = Tenant.objects.get(domains__domain="restored.localhost")
    new = restored.schema_name
    assert new != old
    after = _rows(restored)
    assert {k: v for k, v in after.items() if k != "AuditEntry"} == {
        k: v for k, v in _moved(before, old, new).items() if k != "AuditEntry"
    }
    # the audit log: every entry as it was (ids, actors, times), then the import's own entries
    assert after["AuditEntry"][: len(before["AuditEntry"])] == before["AuditEntry"]
    added = [e["action"] for e in after["AuditEntry"][len(before["AuditEntry"]) :]]
    assert added == ["invitation.created", "tenant.imported", "billing.trial_started"]  # billing starts afresh
    assert _stored(new) == stored
    # members re-linked by email with their roles; the missing account invited with its role
    assert dict(Membership.objects.filter(tenant=restored).values_list("user__email", "role")) == {
        owner.email: Role.OWNER,
        member.email: Role.ADMIN,
    }
    invitation = Invitation.objects.get(tenant=restored)
    assert (invitation.email, invitation.role) == ("gone@rt.test", Role.MEMBER)
    # sequences are past the restored ids
    with tenant_context(restored):
        fresh = Project.objects.create(name="After")
        assert fresh.pk > max(p["id"] for p in before["Project"])


@pytest.mark.usefixtures("committed")
def test_an_import_never_touches_the_workspace_it_came_from(tmp_path: Path) -> None:
    # given workspace A, exported, still live
    a, _owner, _member = _workspace_with_data()
    before, stored = _rows(a), _stored(a.schema_name)
    archive = tmp_path / "a.tar.gz"
    run("export", "roundtrip", "--output", str(archive))
    before_export = before["AuditEntry"]

    # when it is imported as B, and B's document and files are deleted
    run("import", str(archive), "--slug", "copy-of-a")
    b = Tenant.objects.get(domains__domain="copy-of-a.localhost")
    b_stored = _stored(b.schema_name)
    with tenant_context(b):
        Document.objects.all().delete()
    files().delete_many(f"{b.schema_name}/{path}" for path in b_stored)

    # then A is as it was (plus its own export entry), and B held copies under its own prefix
    after = _rows(a)
    assert {k: v for k, v in after.items() if k != "AuditEntry"} == {
        k: v for k, v in before.items() if k != "AuditEntry"
    }
    assert after["AuditEntry"][: len(before_export)] == before_export
    assert [e["action"] for e in after["AuditEntry"][len(before_export) :]] == ["tenant.exported"]
    assert _stored(a.schema_name) == stored
    assert b_stored == stored
    with tenant_context(b):
        assert AuditEntry.objects.filter(action="tenant.exported").count() == 0


# ---------------------------------------------------------------------------------------------------------------------
# Hostile archives: refused before anything is written
# ---------------------------------------------------------------------------------------------------------------------


@pytest.fixture
def good_archive(tenant: Tenant, tmp_path: Path) -> Path:
    """A true export of acme (its committed schema) with one file."""
    files().put(f"{tenant.schema_name}/files/{'b' * 32}.txt", io.BytesIO(b"hello"), content_type="text/plain")
    path = tmp_path / "good.tar.gz"
    run("export", "acme", "--output", str(path))
    return path


def _members(path: Path) -> list[tuple[tarfile.TarInfo, bytes]]:
    with tarfile.open(path) as tar:
        return [(m, tar.extractfile(m).read() if m.isreg() else b"") for m in tar.getmembers()]  # type: ignore[union-attr]


def _write(path: Path, members: list[tuple[tarfile.TarInfo, bytes]]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            info.size = len(data) if info.isreg() else 0
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return path


def _with_manifest(members: list[tuple[tarfile.TarInfo, bytes]], change: Any) -> list[tuple[tarfile.TarInfo, bytes]]:
    info, raw = members[0]
    manifest = json.loads(raw)
    change(manifest)
    return [(info, json.dumps(manifest).encode()), *members[1:]]


def _hostile(good: Path, tmp_path: Path) -> dict[str, tuple[Path, str]]:
    members = _members(good)
    root = members[0][0].name.split("/")[0]
    cases: dict[str, tuple[list[tuple[tarfile.TarInfo, bytes]], str]] = {}

    def counts(m: dict[str, Any]) -> None:
        m["database"]["tables"]["django_migrations"] += 1

    def version(m: dict[str, Any]) -> None:
        m["format"] = 1

    def traversal(m: dict[str, Any]) -> None:
        m["files"].append({"path": "../../etc/evil", "size": 4, "sha256": "0" * 64})

    cases["lying counts"] = (_with_manifest(members, counts), "row counts differ")
    cases["wrong version"] = (_with_manifest(members, version), "format 1")
    cases["traversal in manifest"] = (_with_manifest(members, traversal), "not a safe storage key")
    outside = tarfile.TarInfo(f"{root}/../../evil.txt")
    cases["traversal member"] = ([*members, (outside, b"evil")], "lies outside|does not list")
    absolute = tarfile.TarInfo("/etc/evil.txt")
    cases["absolute member"] = ([*members, (absolute, b"evil")], "lies outside")
    link = tarfile.TarInfo(f"{root}/files/link")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    cases["symlink"] = ([*members, (link, b"")], "not a regular file")
    cases["manifest last"] = ([*members[1:], members[0]], "first member must be")
    deep = b'{"format": ' * 50_000 + b"2" + b"}" * 50_000
    cases["deeply nested manifest"] = ([(members[0][0], deep), *members[1:]], "manifest is not JSON")
    # rows PostgreSQL cannot take: each one line after the projects' COPY header, the manifest's count and checksum
    # made to match (what someone editing an export by hand would do)
    for label, row in {
        "a number that is not one": {"id": "abc"},
        "too few columns": None,
        "a NUL byte": {"name": "nul\x00byte"},
        "a dangling reference": {"table": "projects_task", "project_id": "987654"},
        "a date that is not one": {"created_at": "the day before"},
    }.items():
        cases[f"a row with {label}"] = (_with_row(members, row), "cannot hold")
    tampered = [
        (info, b"HELLO" if info.name.endswith(".txt") else data) for info, data in members
    ]  # same size, other bytes
    cases["tampered file"] = (tampered, "does not match")
    extra = tarfile.TarInfo(f"{root}/files/files/extra.txt")
    cases["unlisted file"] = ([*members, (extra, b"x")], "does not list")
    result = {name: (_write(tmp_path / f"{i}.tar.gz", m), why) for i, (name, (m, why)) in enumerate(cases.items())}
    truncated = tmp_path / "truncated.tar.gz"
    raw = good.read_bytes()
    truncated.write_bytes(raw[: len(raw) // 2])
    result["truncated"] = (truncated, "truncated|not a readable")
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"\x00not an archive" * 100)
    result["junk"] = (junk, "not a readable")
    return result


_ROW_DEFAULTS = {
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


def _with_row(members: list[tuple[tarfile.TarInfo, bytes]], row: dict[str, str] | None) -> Any:
    """The archive with one more row in a table's COPY block (projects_project unless `row["table"]` says), its values
    `_ROW_DEFAULTS` and NULL but for `row`; None: a row of one column. Counts and checksum made to match."""

    one_column = row is None
    row = dict(row or {})
    table = row.pop("table", "projects_project")
    added: dict[str, int] = {}

    def insert(dump: bytes) -> bytes:
        header = re.search(rb"^COPY \S+\." + table.encode() + rb" \((.*)\) FROM stdin;\n", dump, re.M)
        assert header, table
        columns = [c.strip().strip('"') for c in header.group(1).decode().split(",")]
        values = ["1"] if one_column else [row.get(c, _ROW_DEFAULTS.get(c, "\\N")) for c in columns]
        added[table] = 1
        return dump[: header.end()] + "\t".join(values).encode() + b"\n" + dump[header.end() :]

    edited = _with_dump(members, insert)

    def count(m: dict[str, Any]) -> None:
        for name, n in added.items():
            m["database"]["tables"][name] += n

    return _with_manifest(edited, count)


def test_hostile_archives_are_refused_and_leave_nothing_behind(
    good_archive: Path, tmp_path: Path, settings: Any
) -> None:
    schemas, tenants, domains = _schemas(), Tenant.objects.count(), Domain.objects.count()
    media = Path(settings.MEDIA_ROOT)
    stored = sorted(p.relative_to(media) for p in media.rglob("*") if p.is_file())

    for name, (path, why) in _hostile(good_archive, tmp_path).items():
        with pytest.raises(CommandError, match=why) as refused:
            run("import", str(path), "--slug", "evil")
        assert refused.value.returncode == 2, name
        assert "Nothing was imported" in str(refused.value), name
        assert "\n" not in str(refused.value), name  # one line, no traceback

    assert _schemas() == schemas
    assert (Tenant.objects.count(), Domain.objects.count()) == (tenants, domains)
    assert sorted(p.relative_to(media) for p in media.rglob("*") if p.is_file()) == stored
    assert not (tmp_path.parent / "etc").exists()


def test_the_good_archive_imports(good_archive: Path) -> None:
    """The hostile cases above are refused for what was changed, not because the archive could never import."""
    output = run("import", str(good_archive), "--slug", "acme-copy")

    copy = Tenant.objects.get(domains__domain="acme-copy.localhost")
    assert "Imported Acme Inc" in output
    assert _stored(copy.schema_name) == {f"files/{'b' * 32}.txt": b"hello"}


def test_a_failure_after_the_files_were_copied_leaves_nothing_behind(
    good_archive: Path, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    schemas, tenants = _schemas(), Tenant.objects.count()

    def broken(**kwargs: Any) -> None:
        raise RuntimeError("audit store down")

    monkeypatch.setattr(archive_import, "audit_record", broken)
    with pytest.raises(RuntimeError, match="audit store down"):
        run("import", str(good_archive), "--slug", "acme-copy")

    assert _schemas() == schemas
    assert Tenant.objects.count() == tenants
    assert not Domain.objects.filter(domain="acme-copy.localhost").exists()
    media = Path(settings.MEDIA_ROOT)
    prefixes = {p.relative_to(media).parts[0] for p in media.rglob("*") if p.is_file()}
    assert prefixes == {Tenant.objects.get(domains__domain="acme.localhost").schema_name}


def test_import_refuses_a_taken_subdomain_before_reading(good_archive: Path) -> None:
    with pytest.raises(CommandError, match="taken"):
        run("import", str(good_archive), "--slug", "globex")


def test_an_export_failing_midway_leaves_no_archive(
    tenant: Tenant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = files()
    for name in ("a", "b"):
        storage.put(f"{tenant.schema_name}/files/{name * 32}.txt", io.BytesIO(b"x" * 1000), content_type="text/plain")
    opened = storage.open_stream
    calls: list[str] = []

    def failing(key: str) -> Any:
        calls.append(key)
        if len(calls) == 4:  # two checksum reads, then the first file streamed into the archive; the second fails
            raise OSError("storage went away")
        return opened(key)

    monkeypatch.setattr(storage, "open_stream", failing)
    with pytest.raises(OSError, match="storage went away"):
        run("export", "acme", "--output", str(tmp_path / "a.tar.gz"))

    assert len(calls) == 4
    assert list(tmp_path.iterdir()) == []


@pytest.mark.usefixtures("committed")
def test_rows_follow_their_people_to_the_accounts_found_here_by_email(tmp_path: Path) -> None:
    # given an archive, and here the member's email now belongs to another account (another id)
    _tenant, owner, member = _workspace_with_data()
    archive = tmp_path / "rt.tar.gz"
    run("export", "roundtrip", "--output", str(archive))
    User.objects.filter(pk=member.pk).update(email="former-member@rt.test")
    newcomer = User.objects.create_user(email="member@rt.test", password="x-long-password-3")
    assert newcomer.pk != member.pk

    # when
    run("import", str(archive), "--slug", "remapped")

    # then every reference to the member points at the account that has the email here; the owner's are unchanged
    restored = Tenant.objects.get(domains__domain="remapped.localhost")
    with tenant_context(restored):
        task = Task.objects.get()
        assert (task.assignee_id, task.created_by_id) == (newcomer.pk, owner.pk)
        assert Comment.objects.get().author_id == newcomer.pk
        assert Document.objects.get().uploaded_by_id == newcomer.pk
        grants = ProjectUserObjectPermission.objects.filter(content_object__name="Launch")
        assert list(grants.values_list("user_id", flat=True)) == [newcomer.pk]
        assert Project.objects.get(name="Launch").created_by_id == owner.pk
    assert Membership.objects.get(tenant=restored, user=newcomer).role == Role.ADMIN
    assert not Membership.objects.filter(tenant=restored, user_id=member.pk).exists()


# ---------------------------------------------------------------------------------------------------------------------
# Rows that name storage: only the archive's own prefix is moved; anything outside it refuses the archive
# ---------------------------------------------------------------------------------------------------------------------


def _with_dump(
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

    return _with_manifest(out, checksum)


@pytest.mark.usefixtures("committed")
def test_an_archive_naming_another_workspaces_files_is_refused_and_their_files_are_untouched(
    tmp_path: Path, settings: Any
) -> None:
    # given a victim workspace with a file, and an export of another workspace whose document row is then edited to
    # point at the victim's file (its key, its thumbnail key, its prefix, or a key that climbs out of the prefix)
    victim, _victim_owner = services.workspace_create(slug="victim", name="Victim", owner_email="owner@victim.test")
    secret = f"{victim.schema_name}/files/{'c' * 32}.pdf"
    files().put(secret, io.BytesIO(b"%PDF-1.4 victim's secret"), content_type="application/pdf")
    tenant, _owner, _member = _workspace_with_data()
    source = tenant.schema_name
    archive = tmp_path / "rt.tar.gz"
    run("export", "roundtrip", "--output", str(archive))
    members = _members(archive)
    ours, thumb = f"{source}/files/{'a' * 32}.pdf", f"{source}/files/{'a' * 32}.thumb.webp"
    edits = {
        "key": lambda d: d.replace(ours.encode(), secret.encode()),
        "thumbnail key": lambda d: d.replace(thumb.encode(), secret.encode()),
        "prefix": lambda d: d.replace(f"\t{source}\t".encode(), f"\t{victim.schema_name}\t".encode()),
        "traversal": lambda d: d.replace(ours.encode(), f"{source}/../{secret}".encode()),
        "bare prefix as key": lambda d: d.replace(thumb.encode(), victim.schema_name.encode()),
    }
    schemas, tenants = _schemas(), Tenant.objects.count()

    for i, (name, edit) in enumerate(edits.items()):
        hostile = _write(tmp_path / f"hostile-{i}.tar.gz", _with_dump(members, edit))
        # when
        with pytest.raises(CommandError, match="storage outside") as refused:
            run("import", str(hostile), "--slug", f"evil-{i}")
        # then
        assert refused.value.returncode == 2, name
        assert "Nothing was imported" in str(refused.value), name

    assert _schemas() == schemas
    assert Tenant.objects.count() == tenants
    assert _stored(victim.schema_name) == {f"files/{'c' * 32}.pdf": b"%PDF-1.4 victim's secret"}
    # the unedited archive imports (the edits, not the archive, were refused)
    same = _write(tmp_path / "same.tar.gz", _with_dump(members, lambda d: d, changes=False))
    run("import", str(same), "--slug", "honest")


def test_every_tenant_column_that_names_storage_is_found_by_the_import() -> None:
    """The import moves and checks the columns it finds from the models (`StorageKeyField`); a column that names a
    file, a prefix or a path under another name would escape it."""

    found = {(c.table, c.column, c.is_prefix) for c in storage_columns()}
    assert found == {
        ("projects_document", "storage_prefix", True),
        ("projects_document", "key", False),
        ("projects_document", "thumbnail_key", False),
    }
    named_like_storage = re.compile(r"(^|_)(key|prefix|path|file|schema|bucket|url|host|domain)s?$")
    # Named like storage, and not: a webhook endpoint's URL is a receiver's address on the internet.
    not_storage = {"webhooks.Endpoint.url"}
    tenant_apps, _public = schema_apps()
    for model in tables(tenant_apps):
        for field in model._meta.local_fields:
            if f"{model._meta.label}.{field.name}" in not_storage:
                continue
            if isinstance(field, models.CharField) and named_like_storage.search(field.name):
                assert isinstance(field, StorageKeyField), f"{model._meta.label}.{field.name}"


@pytest.mark.usefixtures("committed")
def test_a_grant_to_a_group_follows_the_groups_name_never_its_id(tmp_path: Path) -> None:
    # given an archive with a project shared with the group "Designers", and here that group's id now belongs to
    # another group (its name was given to nobody)

    tenant, _owner, _member = _workspace_with_data()
    designers = Group.objects.create(name="Designers")
    view = Permission.objects.get(codename="view_project", content_type__app_label="projects")
    with tenant_context(tenant):
        ProjectGroupObjectPermission.objects.create(
            content_object=Project.objects.get(name="Launch"), group=designers, permission=view
        )
    archive = tmp_path / "rt.tar.gz"
    run("export", "roundtrip", "--output", str(archive))
    Group.objects.filter(pk=designers.pk).update(name="Platform support")
    renamed = Group.objects.create(name="Designers")

    # when
    run("import", str(archive), "--slug", "grouped")

    # then the grant points at the group called Designers here, never at the id the archive carried
    restored = Tenant.objects.get(domains__domain="grouped.localhost")
    with tenant_context(restored):
        assert list(ProjectGroupObjectPermission.objects.values_list("group_id", flat=True)) == [renamed.pk]


def _with_long_line(members: list[tuple[tarfile.TarInfo, bytes]], length: int) -> Any:
    """The archive with a project whose description is one line of `length` bytes (it compresses to almost
    nothing)."""
    return _with_row(members, {"table": "projects_project", "description": "x" * length})


def test_an_archive_larger_than_the_cap_uncompressed_is_refused_while_streaming(
    good_archive: Path, tmp_path: Path, settings: Any
) -> None:
    members = _members(good_archive)
    settings.TENANT_IMPORT_MAX_BYTES = sum(len(data) for _info, data in members) - 1  # one byte short

    with pytest.raises(CommandError, match="uncompressed") as refused:
        run("import", str(good_archive), "--slug", "too-big")

    assert refused.value.returncode == 2
    assert "\n" not in str(refused.value)
    assert not Tenant.objects.filter(domains__domain="too-big.localhost").exists()


def test_a_dump_line_longer_than_the_cap_is_refused_while_streaming_in_bounded_memory(
    good_archive: Path, tmp_path: Path, settings: Any
) -> None:

    # given a 405 KB archive holding a 64 MB line (the attack run's was 400 MB and took 957 MB to read)
    settings.TENANT_IMPORT_LINE_MAX_BYTES = 1024 * 1024
    hostile = _write(tmp_path / "long-line.tar.gz", _with_long_line(_members(good_archive), 64 * 1024 * 1024))
    assert hostile.stat().st_size < 1024 * 1024
    schemas = _schemas()

    # when
    tracemalloc.start()
    try:
        with pytest.raises(CommandError, match="line longer than") as refused:
            run("import", str(hostile), "--slug", "long-line")
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    # then
    assert refused.value.returncode == 2
    # never the line whole (64 MB): a chunk or two, and what gzip hands tarfile at once from a block that compresses a
    # thousand to one (about 20 MB measured)
    assert peak < 48 * 1024 * 1024, f"{peak / 1e6:.0f} MB"
    assert _schemas() == schemas
    assert not Tenant.objects.filter(domains__domain="long-line.localhost").exists()
