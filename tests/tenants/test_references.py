"""Tenant → public references (tenants.references): read from the models, never a database constraint, so a new
workspace adds nothing to the public tables (no triggers on the user table), and what they point at still reads
right when the row is gone."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.db.models import Max

from shared_apps.accounts.models import User
from tenant_apps.projects.models import Project, Task
from tenants import provisioning, references
from tenants.db import connection
from tenants.models import Tenant
from tenants.provisioning import Method
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


def constrained(found: list[references.Reference]) -> list[str]:
    """References whose field asks for a database constraint, guardian's generic tables aside (their constraints
    are dropped by tenant_apps.projects' migration 0004, checked in the catalog below)."""
    return [r.source for r in found if r.constrained and not r.source.startswith("guardian.")]


def triggers_on(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_trigger WHERE tgrelid = %s::regclass", [f"public.{table}"])
        return int(cursor.fetchone()[0])


def test_the_references_are_read_from_the_models() -> None:
    found = {(r.table, r.column): r for r in references.public_references()}

    assert found[("projects_project", "created_by_id")].target == "accounts_user"
    assert found[("projects_project", "created_by_id")].nullable
    assert not found[("projects_projectuserobjectpermission", "user_id")].nullable
    assert found[("projects_projectgroupobjectpermission", "permission_id")].target == "auth_permission"
    assert found[("audit_auditentry", "actor_id")].source == "audit.AuditEntry.actor"
    assert found[("guardian_userobjectpermission", "content_type_id")].target == "django_content_type"
    # references inside the schema are not public references
    assert ("projects_task", "project_id") not in found


def test_no_product_model_asks_for_a_database_constraint_into_public() -> None:
    assert constrained(references.public_references()) == []


def test_a_constrained_reference_would_be_named(monkeypatch: pytest.MonkeyPatch) -> None:
    field: Any = Task._meta.get_field("assignee")
    monkeypatch.setattr(field, "db_constraint", True)

    assert constrained(references.public_references()) == ["projects.Task.assignee"]


def test_a_tenant_model_pointing_at_an_app_of_no_schema_is_refused(settings: Any) -> None:
    settings.SHARED_APPS = [app for app in settings.SHARED_APPS if app != "shared_apps.accounts"]

    with pytest.raises(references.UnknownSchemaApp, match=r"accounts\.User"):
        references.public_references()


def test_a_new_workspace_adds_no_trigger_to_any_public_table(tenant: Tenant) -> None:
    targets = sorted({r.target for r in references.public_references()})
    before = {table: triggers_on(table) for table in targets}

    made = [provisioning.provision(name=f"Triggers {n}", method=Method.FAST)[0] for n in range(2)]

    assert all(isinstance(t, Tenant) for t in made)
    assert {table: triggers_on(table) for table in targets} == before


def test_the_template_and_a_workspace_hold_no_constraint_into_public(tenant: Tenant) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname, cl.relname, c.conname FROM pg_constraint c"
            " JOIN pg_class cl ON cl.oid = c.conrelid JOIN pg_namespace n ON n.oid = cl.relnamespace"
            " JOIN pg_class rcl ON rcl.oid = c.confrelid JOIN pg_namespace rn ON rn.oid = rcl.relnamespace"
            " WHERE c.contype = 'f' AND n.nspname = ANY(%s) AND rn.nspname <> n.nspname",
            [[tenant.schema_name, settings.TENANT_TEMPLATE_SCHEMA]],
        )
        assert cursor.fetchall() == []


def test_a_creator_whose_account_row_is_gone_reads_as_nobody(tenant: Tenant, in_tenant: Any) -> None:
    """Accounts are deactivated, not deleted; should a row go anyway (by hand, in SQL), the product's reads join the
    nullable references with LEFT JOINs and show nobody rather than lose the project."""
    gone = (User.objects.aggregate(top=Max("pk"))["top"] or 0) + 1_000_000  # no such account
    with in_tenant(tenant):
        project = ProjectFactory.create(name="Kept", created_by_id=gone)
        found = Project.objects.select_related("created_by").get(pk=project.pk)
        assert (found.name, found.created_by_id, found.created_by) == ("Kept", gone, None)
