"""What an archive's rows may name: storage only under the archive's own prefix (anything outside it refuses the
archive), groups by name (never by id); and archives past the size caps, refused while streaming."""

from __future__ import annotations

import io
import re
import tarfile
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import CommandError
from django.db import models
from django_tenants.utils import tenant_context

from shared_apps.storage.backends import files
from shared_apps.storage.fields import StorageKeyField
from shared_apps.workspaces import services
from tenant_apps.projects.models import Project, ProjectGroupObjectPermission
from tenants.models import Tenant
from tenants.references import schema_apps, tables
from tenants.restore import storage_columns
from tests.workspaces.import_helpers import (
    archive_members,
    archive_write,
    run,
    stored_files,
    with_dump,
    with_row,
    workspace_schemas,
    workspace_with_data,
)


@pytest.mark.usefixtures("committed")
def test_an_archive_naming_another_workspaces_files_is_refused_and_their_files_are_untouched(
    tmp_path: Path, settings: Any
) -> None:
    # given a victim workspace with a file, and an export of another workspace whose document row is then edited to
    # point at the victim's file (its key, its thumbnail key, its prefix, or a key that climbs out of the prefix)
    victim, _victim_owner = services.workspace_create(slug="victim", name="Victim", owner_email="owner@victim.test")
    secret = f"{victim.schema_name}/files/{'c' * 32}.pdf"
    files().put(secret, io.BytesIO(b"%PDF-1.4 victim's secret"), content_type="application/pdf")
    tenant, _owner, _member = workspace_with_data()
    source = tenant.schema_name
    archive = tmp_path / "rt.tar.gz"
    run("export", "roundtrip", "--output", str(archive))
    members = archive_members(archive)
    ours, thumb = f"{source}/files/{'a' * 32}.pdf", f"{source}/files/{'a' * 32}.thumb.webp"
    edits = {
        "key": lambda d: d.replace(ours.encode(), secret.encode()),
        "thumbnail key": lambda d: d.replace(thumb.encode(), secret.encode()),
        "prefix": lambda d: d.replace(f"\t{source}\t".encode(), f"\t{victim.schema_name}\t".encode()),
        "traversal": lambda d: d.replace(ours.encode(), f"{source}/../{secret}".encode()),
        "bare prefix as key": lambda d: d.replace(thumb.encode(), victim.schema_name.encode()),
    }
    schemas, tenants = workspace_schemas(), Tenant.objects.count()

    for i, (name, edit) in enumerate(edits.items()):
        hostile = archive_write(tmp_path / f"hostile-{i}.tar.gz", with_dump(members, edit))
        # when
        with pytest.raises(CommandError, match="storage outside") as refused:
            run("import", str(hostile), "--slug", f"evil-{i}")
        # then
        assert refused.value.returncode == 2, name
        assert "Nothing was imported" in str(refused.value), name

    assert workspace_schemas() == schemas
    assert Tenant.objects.count() == tenants
    assert stored_files(victim.schema_name) == {f"files/{'c' * 32}.pdf": b"%PDF-1.4 victim's secret"}
    # the unedited archive imports (the edits, not the archive, were refused)
    same = archive_write(tmp_path / "same.tar.gz", with_dump(members, lambda d: d, changes=False))
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

    tenant, _owner, _member = workspace_with_data()
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
    return with_row(members, {"table": "projects_project", "description": "x" * length})


def test_an_archive_larger_than_the_cap_uncompressed_is_refused_while_streaming(
    good_archive: Path, tmp_path: Path, settings: Any
) -> None:
    members = archive_members(good_archive)
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
    hostile = archive_write(
        tmp_path / "long-line.tar.gz", _with_long_line(archive_members(good_archive), 64 * 1024 * 1024)
    )
    assert hostile.stat().st_size < 1024 * 1024
    schemas = workspace_schemas()

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
    assert workspace_schemas() == schemas
    assert not Tenant.objects.filter(domains__domain="long-line.localhost").exists()
