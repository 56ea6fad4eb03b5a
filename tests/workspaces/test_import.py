"""`tenant import`: an export restores into a new workspace. The round trip (export → purge → import) gives back the
same rows, files and audit log; hostile archives are refused before anything is written; an import never touches
the workspace it came from.

pg_dump reads what is committed, so the round trip runs outside the test's transaction (`committed`): what it adds
to the public schema, and the schemas it makes, are removed after."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError
from django_tenants.utils import schema_exists, tenant_context

from shared_apps.accounts.models import Invitation, Membership, Role, User
from shared_apps.storage.backends import files
from shared_apps.workspaces import services
from shared_apps.workspaces.services import archive_import
from tenant_apps.audit.models import AuditEntry, Event
from tenant_apps.projects.models import Comment, Document, Project, ProjectUserObjectPermission, Task
from tenant_apps.webhooks import services as webhooks
from tenant_apps.webhooks.models import Endpoint
from tenants.models import Domain, Tenant
from tests.workspaces.import_helpers import (
    archive_members,
    archive_write,
    rows_moved,
    rows_of,
    run,
    stored_files,
    with_manifest,
    with_row,
    workspace_schemas,
    workspace_with_data,
)


@pytest.mark.usefixtures("committed")
def test_export_purge_import_gives_back_the_same_rows_files_and_audit_log(tmp_path: Path) -> None:
    # given a workspace with projects, tasks, comments, grants, documents and their files, exported then purged
    tenant, owner, member = workspace_with_data()
    old = tenant.schema_name
    before, stored = rows_of(tenant), stored_files(old)
    archive = tmp_path / "rt.tar.gz"
    run("export", "roundtrip", "--output", str(archive))
    services.workspace_schedule_deletion(tenant=tenant, acting_user=None)
    run("purge", "roundtrip", "--yes")
    User.objects.filter(email="gone@rt.test").update(email="renamed@rt.test")  # no account has that email now
    assert not schema_exists(old)
    assert stored_files(old) == {}

    # when
    output = run("import", str(archive), "--slug", "restored")

    # then
    assert "Manifest: Round Trip" in output
    assert "Imported Round Trip at http://restored.localhost/" in output
    restored = Tenant.objects.get(domains__domain="restored.localhost")
    new = restored.schema_name
    assert new != old
    after = rows_of(restored)
    assert {k: v for k, v in after.items() if k != "AuditEntry"} == {
        k: v for k, v in rows_moved(before, old, new).items() if k != "AuditEntry"
    }
    # the audit log: every entry as it was (ids, actors, times), then the import's own entries
    assert after["AuditEntry"][: len(before["AuditEntry"])] == before["AuditEntry"]
    added = [e["action"] for e in after["AuditEntry"][len(before["AuditEntry"]) :]]
    assert added == ["invitation.created", "tenant.imported", "billing.trial_started"]  # billing starts afresh
    assert stored_files(new) == stored
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
    a, _owner, _member = workspace_with_data()
    before, stored = rows_of(a), stored_files(a.schema_name)
    archive = tmp_path / "a.tar.gz"
    run("export", "roundtrip", "--output", str(archive))
    before_export = before["AuditEntry"]

    # when it is imported as B, and B's document and files are deleted
    run("import", str(archive), "--slug", "copy-of-a")
    b = Tenant.objects.get(domains__domain="copy-of-a.localhost")
    b_stored = stored_files(b.schema_name)
    with tenant_context(b):
        Document.objects.all().delete()
    files().delete_many(f"{b.schema_name}/{path}" for path in b_stored)

    # then A is as it was (plus its own export entry), and B held copies under its own prefix
    after = rows_of(a)
    assert {k: v for k, v in after.items() if k != "AuditEntry"} == {
        k: v for k, v in before.items() if k != "AuditEntry"
    }
    assert after["AuditEntry"][: len(before_export)] == before_export
    assert [e["action"] for e in after["AuditEntry"][len(before_export) :]] == ["tenant.exported"]
    assert stored_files(a.schema_name) == stored
    assert b_stored == stored
    with tenant_context(b):
        assert AuditEntry.objects.filter(action="tenant.exported").count() == 0


def _hostile(good: Path, tmp_path: Path) -> dict[str, tuple[Path, str]]:
    members = archive_members(good)
    root = members[0][0].name.split("/")[0]
    cases: dict[str, tuple[list[tuple[tarfile.TarInfo, bytes]], str]] = {}

    def counts(m: dict[str, Any]) -> None:
        m["database"]["tables"]["django_migrations"] += 1

    def version(m: dict[str, Any]) -> None:
        m["format"] = 1

    def traversal(m: dict[str, Any]) -> None:
        m["files"].append({"path": "../../etc/evil", "size": 4, "sha256": "0" * 64})

    cases["lying counts"] = (with_manifest(members, counts), "row counts differ")
    cases["wrong version"] = (with_manifest(members, version), "format 1")
    cases["traversal in manifest"] = (with_manifest(members, traversal), "not a safe storage key")
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
        cases[f"a row with {label}"] = (with_row(members, row), "cannot hold")
    tampered = [
        (info, b"HELLO" if info.name.endswith(".txt") else data) for info, data in members
    ]  # same size, other bytes
    cases["tampered file"] = (tampered, "does not match")
    extra = tarfile.TarInfo(f"{root}/files/files/extra.txt")
    cases["unlisted file"] = ([*members, (extra, b"x")], "does not list")
    result = {
        name: (archive_write(tmp_path / f"{i}.tar.gz", m), why) for i, (name, (m, why)) in enumerate(cases.items())
    }
    truncated = tmp_path / "truncated.tar.gz"
    raw = good.read_bytes()
    truncated.write_bytes(raw[: len(raw) // 2])
    result["truncated"] = (truncated, "truncated|not a readable")
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"\x00not an archive" * 100)
    result["junk"] = (junk, "not a readable")
    return result


def test_hostile_archives_are_refused_and_leave_nothing_behind(
    good_archive: Path, tmp_path: Path, settings: Any
) -> None:
    schemas, tenants, domains = workspace_schemas(), Tenant.objects.count(), Domain.objects.count()
    media = Path(settings.MEDIA_ROOT)
    stored = sorted(p.relative_to(media) for p in media.rglob("*") if p.is_file())

    for name, (path, why) in _hostile(good_archive, tmp_path).items():
        with pytest.raises(CommandError, match=why) as refused:
            run("import", str(path), "--slug", "evil")
        assert refused.value.returncode == 2, name
        assert "Nothing was imported" in str(refused.value), name
        assert "\n" not in str(refused.value), name  # one line, no traceback

    assert workspace_schemas() == schemas
    assert (Tenant.objects.count(), Domain.objects.count()) == (tenants, domains)
    assert sorted(p.relative_to(media) for p in media.rglob("*") if p.is_file()) == stored
    assert not (tmp_path.parent / "etc").exists()


def test_the_good_archive_imports(good_archive: Path) -> None:
    """The hostile cases above are refused for what was changed, not because the archive could never import."""
    output = run("import", str(good_archive), "--slug", "acme-copy")

    copy = Tenant.objects.get(domains__domain="acme-copy.localhost")
    assert "Imported Acme Inc" in output
    assert stored_files(copy.schema_name) == {f"files/{'b' * 32}.txt": b"hello"}


def test_a_failure_after_the_files_were_copied_leaves_nothing_behind(
    good_archive: Path, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    schemas, tenants = workspace_schemas(), Tenant.objects.count()

    def broken(**kwargs: Any) -> None:
        raise RuntimeError("audit store down")

    monkeypatch.setattr(archive_import, "audit_record", broken)
    with pytest.raises(RuntimeError, match="audit store down"):
        run("import", str(good_archive), "--slug", "acme-copy")

    assert workspace_schemas() == schemas
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
    _tenant, owner, member = workspace_with_data()
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


@pytest.mark.usefixtures("committed")
def test_an_export_carries_no_webhook_secret_and_an_import_asks_for_a_new_one(tmp_path: Path) -> None:
    # given a workspace with a webhook endpoint in the middle of a rotation (two secrets sign)
    tenant, owner, _member = workspace_with_data()
    with tenant_context(tenant):
        endpoint, first = webhooks.endpoint_create(tenant=tenant, acting_user=owner, url="https://hooks.example.com/a")
        second = webhooks.endpoint_secret_rotate(tenant=tenant, endpoint=endpoint, acting_user=owner)
    archive = tmp_path / "hooks.tar.gz"

    # when it is exported
    run("export", "roundtrip", "--output", str(archive))

    # then neither secret is anywhere in the archive, though the endpoint is
    contents = b"".join(data for _info, data in archive_members(archive))
    assert b"hooks.example.com/a" in contents
    for secret in (first, second):
        assert secret.encode() not in contents
        assert secret.removeprefix("whsec_").encode() not in contents

    # when it is imported, the endpoint is there, off, with a secret nobody has seen, until it is rotated
    run("import", str(archive), "--slug", "hooks-copy")
    copy = Tenant.objects.get(domains__domain="hooks-copy.localhost")
    with tenant_context(copy):
        imported = Endpoint.objects.get()
        assert imported.url == "https://hooks.example.com/a"
        assert not imported.enabled
        assert imported.secret.startswith("whsec_")
        assert imported.secret not in (first, second)
        assert imported.previous_secret == ""
        with pytest.raises(webhooks.EndpointInvalid):
            webhooks.endpoint_update(tenant=copy, endpoint=imported, acting_user=owner, enabled=True)
        assert not Endpoint.objects.get().enabled
        shown = webhooks.endpoint_secret_rotate(tenant=copy, endpoint=imported, acting_user=owner)
        webhooks.endpoint_update(tenant=copy, endpoint=imported, acting_user=owner, enabled=True)
        after = Endpoint.objects.get()
        assert after.enabled
        assert webhooks.secrets_signing(after) == [shown]
        # the members re-linked joined it: their member.joined events (after the owner's, carried from the source)
        joined = [e.data["user"]["email"] for e in Event.objects.filter(type="member.joined").order_by("id")]
        assert joined == ["owner@rt.test", "owner@rt.test", "member@rt.test", "gone@rt.test"]
    # the workspace exported keeps its endpoint and secrets as they were
    with tenant_context(tenant):
        assert webhooks.secrets_signing(Endpoint.objects.get()) == [second, first]
