"""`migrate_schemas` at scale (tenants.schema_migrate): up-to-date schemas recognised in bulk; a plan built once and
replayed; RunPython migrations run per schema on a shared state; a failing schema named, the others migrated."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.test.utils import CaptureQueriesContext

from tenant_apps.projects.models import Project
from tenants import provisioning
from tenants.db import connection
from tenants.models import Tenant, TenantStatus
from tenants.schema_migrate import migrate_schemas_in_bulk, migrations_digests
from tests.tenants.test_provisioning import catalog

ADD_COLUMN = """
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("projects", "{previous}")]
    operations = [
        migrations.AddField(model_name="project", name="archived", field=models.BooleanField(default=False)),
        migrations.AddIndex(
            model_name="project", index=models.Index(fields=["archived", "name"], name="project_archived_idx")
        ),
    ]
"""

RUN_PYTHON = """
from django.db import migrations


def seed(apps, schema_editor):
    apps.get_model("projects", "Project").objects.create(name="Seeded by a data migration")


class Migration(migrations.Migration):
    dependencies = [("projects", "{previous}")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
"""


@pytest.fixture
def schemas(tenant: Tenant, other_tenant: Tenant) -> list[str]:
    template = provisioning.template_get()
    assert template is not None
    return [template.schema_name, tenant.schema_name, other_tenant.schema_name]


@pytest.fixture
def new_product_migration(settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Point the product app at a copy of its migrations plus one more (the source tree is untouched)."""

    def install(body: str) -> str:
        source = Path(django_settings.BASE_DIR) / "tenant_apps" / "projects" / "migrations"
        package = f"atrium_test_migrations_{uuid.uuid4().hex[:8]}"
        target = tmp_path / package
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        previous = sorted(p.stem for p in source.glob("[0-9][0-9][0-9][0-9]_*.py"))[-1]
        name = f"{int(previous[:4]) + 1:04d}_extra"
        (target / f"{name}.py").write_text(body.format(previous=previous))
        monkeypatch.syspath_prepend(str(tmp_path))
        settings.MIGRATION_MODULES = {"projects": package}
        provisioning.snapshots_clear()
        return name

    yield install
    provisioning.snapshots_clear()


def columns(schema: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
            [schema, "projects_project"],
        )
        return {row[0] for row in cursor.fetchall()}


def recorded(schema: str, name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT count(*) FROM "{schema}".django_migrations WHERE app = %s AND name = %s',  # noqa: S608
            ["projects", name],
        )
        return cursor.fetchone()[0] == 1


def test_up_to_date_schemas_are_recognised_in_bulk(schemas: list[str]) -> None:
    out = StringIO()
    with CaptureQueriesContext(connection) as three:
        report = migrate_schemas_in_bulk(schemas, workers=1, stdout=out)
    assert [o.status for o in report.outcomes] == ["current"] * 3
    assert report.groups == 1
    more = [provisioning.provision(name=f"Extra {i}", method=provisioning.Method.FAST)[0].schema_name for i in range(4)]

    with CaptureQueriesContext(connection) as seven:
        report = migrate_schemas_in_bulk(schemas + more, workers=1, stdout=StringIO())

    assert report.count("current") == 7
    assert len(seven) == len(three)  # the same few queries for 3 schemas or 7: no per-schema migration state
    assert "Migrated 0 schema(s), 3 already up to date, 0 failed" in out.getvalue()


def test_digests_group_schemas_by_their_recorded_migrations(schemas: list[str]) -> None:
    digests = migrations_digests(schemas)
    assert len(set(digests.values())) == 1
    with connection.cursor() as cursor:
        cursor.execute(f'DELETE FROM "{schemas[2]}".django_migrations WHERE app = %s', ["projects"])  # noqa: S608

    digests = migrations_digests([*schemas, "no_such_schema"])

    assert digests[schemas[0]] == digests[schemas[1]] != digests[schemas[2]]
    assert digests["no_such_schema"] is None
    assert digests[schemas[0]] == provisioning.migrations_fingerprint(schemas[0])


def test_a_new_migration_is_built_once_and_replayed_into_every_schema(
    schemas: list[str], new_product_migration: Any
) -> None:
    name = new_product_migration(ADD_COLUMN)

    report = migrate_schemas_in_bulk(schemas, workers=1, stdout=StringIO())

    assert [o.status for o in report.outcomes] == ["migrated"] * 3, report.outcomes
    assert report.outcomes[0].schema == schemas[0]  # the template leads
    for schema in schemas:
        assert "archived" in columns(schema)
        assert recorded(schema, name)
    leader, follower = catalog(schemas[0]), catalog(schemas[1])
    assert follower["indexes"] == leader["indexes"]
    assert follower["columns"] == leader["columns"]
    assert any("project_archived_idx" in row[0] for row in leader["indexes"])
    again = migrate_schemas_in_bulk(schemas, workers=1, stdout=StringIO())
    assert again.count("current") == 3


def test_the_fast_path_copies_the_migrated_template(schemas: list[str], new_product_migration: Any) -> None:
    new_product_migration(ADD_COLUMN)
    migrate_schemas_in_bulk(schemas[:1], workers=1, stdout=StringIO())

    tenant, via = provisioning.provision(name="After the migration", method=provisioning.Method.FAST)

    assert via == provisioning.Via.FAST
    assert "archived" in columns(tenant.schema_name)


def test_a_template_not_yet_migrated_is_not_copied(schemas: list[str], new_product_migration: Any) -> None:
    new_product_migration(ADD_COLUMN)

    with pytest.raises(provisioning.FastPathUnavailable, match="behind"):
        provisioning.provision(name="Too early", method=provisioning.Method.FAST)


def test_data_migrations_run_in_each_schema_on_a_shared_state(
    schemas: list[str], new_product_migration: Any, in_tenant: Any, tenant: Tenant, other_tenant: Tenant
) -> None:
    new_product_migration(RUN_PYTHON)

    report = migrate_schemas_in_bulk(schemas, workers=1, stdout=StringIO())

    assert report.count("migrated") == 3
    for t in (tenant, other_tenant):
        with in_tenant(t):
            assert list(Project.objects.values_list("name", flat=True)) == ["Seeded by a data migration"]


def test_a_failing_schema_is_named_and_the_others_are_migrated(
    schemas: list[str], new_product_migration: Any, settings: Any
) -> None:
    name = new_product_migration(ADD_COLUMN)
    broken = schemas[2]
    with connection.cursor() as cursor:  # drift: this schema already has a column of that name
        cursor.execute(f'ALTER TABLE "{broken}".projects_project ADD COLUMN archived text')
    out = StringIO()

    report = migrate_schemas_in_bulk(schemas, workers=1, stdout=out)

    statuses = {o.schema: o.status for o in report.outcomes}
    assert statuses == {schemas[0]: "migrated", schemas[1]: "migrated", broken: "failed"}
    assert "DuplicateColumn" in report.failed[0].error or "already exists" in report.failed[0].error
    assert not recorded(broken, name)
    assert recorded(schemas[1], name)
    text = out.getvalue()
    assert "Migrated 2 schema(s), 0 already up to date, 1 failed" in text
    assert f"FAILED {broken}:" in text
    progress = next(line for line in text.splitlines() if line.startswith("[3/3]"))
    assert "100%" in progress
    assert "schemas/s" in progress
    assert "ETA" in progress


def test_migrate_schemas_uses_the_bulk_executor_and_exits_non_zero_naming_failures(
    schemas: list[str], new_product_migration: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    new_product_migration(ADD_COLUMN)
    broken = schemas[1]
    with connection.cursor() as cursor:
        cursor.execute(f'ALTER TABLE "{broken}".projects_project ADD COLUMN archived text')

    with pytest.raises(CommandError, match=f"schemas failed to migrate: {broken}"):
        call_command("migrate_schemas", interactive=False, verbosity=1)

    printed = capsys.readouterr().out
    assert f"FAILED {broken}" in printed
    template = provisioning.template_get()
    assert template is not None
    assert "archived" in columns(template.schema_name)
    assert "archived" in columns(schemas[2])
    spares = Tenant.objects.filter(status=TenantStatus.SPARE).values_list("schema_name", flat=True)
    assert all("archived" in columns(s) for s in spares)
