"""Provisioning (docs/tenancy.md, "Provisioning in milliseconds"): a schema from the warm pool or the template's
snapshot is indistinguishable from one made by migrations; failures leave nothing behind; the pool is claimed, filled
and reported."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_exists
from guardian.shortcuts import assign_perm

from shared_apps.accounts.models import Membership, User
from shared_apps.workspaces import services
from tenant_apps.audit.models import AuditEntry
from tenant_apps.projects.models import Project, Task
from tenants import provisioning
from tenants import services as tenancy
from tenants.db import connection
from tenants.errors import SubdomainTaken
from tenants.models import Domain, Tenant, TenantStatus
from tenants.provisioning import Method, Via, pool
from tests.factories import UserFactory

# ---------------------------------------------------------------------------------------------------------------------
# Proof of equivalence
# ---------------------------------------------------------------------------------------------------------------------


def catalog(schema: str) -> dict[str, Any]:
    """Everything that makes up a schema, read from the catalogs with the schema's own name written as <schema>."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('search_path', %s, true)", [f'"{schema}"'])
        cursor.execute("SELECT oid FROM pg_namespace WHERE nspname = %s", [schema])
        nsp = cursor.fetchone()[0]

        def rows(sql: str) -> list[tuple[Any, ...]]:
            cursor.execute(sql, {"nsp": nsp})
            return [tuple(str(v).replace(schema, "<schema>") if isinstance(v, str) else v for v in r) for r in cursor]

        result = {
            "relations": rows(
                "SELECT relname, relkind, relpersistence, reloptions::text, relrowsecurity FROM pg_class"
                " WHERE relnamespace = %(nsp)s AND relkind NOT IN ('t') ORDER BY relname"
            ),
            "columns": rows(
                "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,"
                " pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated, a.attcollation,"
                " row_number() OVER (PARTITION BY c.relname ORDER BY a.attnum)"
                " FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
                " LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
                " WHERE c.relnamespace = %(nsp)s AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped"
                " ORDER BY c.relname, a.attnum"
            ),
            "constraints": rows(
                "SELECT c.relname, k.conname, k.contype::text, pg_get_constraintdef(k.oid), k.condeferrable,"
                " k.condeferred, k.convalidated FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid"
                " WHERE k.connamespace = %(nsp)s ORDER BY c.relname, k.conname"
            ),
            "indexes": rows(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY indexname"
            ),
            "sequences": rows(
                "SELECT s.relname, format_type(q.seqtypid, NULL), q.seqstart, q.seqincrement, q.seqmin, q.seqmax,"
                " q.seqcache, q.seqcycle, pg_sequence_last_value(s.oid), d.deptype::text, t.relname, a.attname"
                " FROM pg_class s JOIN pg_sequence q ON q.seqrelid = s.oid"
                " LEFT JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass"
                "  AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('i', 'a')"
                " LEFT JOIN pg_class t ON t.oid = d.refobjid"
                " LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid"
                " WHERE s.relnamespace = %(nsp)s ORDER BY s.relname"
            ),
            "comments": rows(
                "SELECT c.relname, d.objsubid, d.description FROM pg_description d JOIN pg_class c ON c.oid = d.objoid"
                " WHERE c.relnamespace = %(nsp)s ORDER BY 1, 2"
            ),
            "migrations": rows("SELECT id, app, name FROM django_migrations ORDER BY id"),
        }
        cursor.execute("SELECT set_config('search_path', 'public', true)")
    return result


@pytest.fixture
def three_ways(db: None, _session_tenants: dict[str, Tenant], settings: Any) -> dict[str, Tenant]:
    """One tenant made each way, inside the test's transaction: migrations, the fast path, a claimed spare."""
    settings.TENANT_POOL_SIZE = 5
    made = {}
    with transaction.atomic():
        made["migrations"], via = provisioning.provision(name="By migrations", method=Method.MIGRATIONS)
        assert via == Via.MIGRATIONS
        made["fast"], via = provisioning.provision(name="By the fast path", method=Method.FAST)
        assert via == Via.FAST
        spare = provisioning.spare_create()
        Tenant.objects.filter(status=TenantStatus.SPARE).exclude(pk=spare.pk).update(status=TenantStatus.SUSPENDED)
        made["pool"], via = provisioning.provision(name="From the pool", method=Method.POOL)
        assert via == Via.POOL
        assert made["pool"].pk == spare.pk
    return made


def test_fast_path_and_pool_schemas_are_identical_to_a_migrated_one(three_ways: dict[str, Tenant]) -> None:
    migrated = catalog(three_ways["migrations"].schema_name)
    fast = catalog(three_ways["fast"].schema_name)
    pool = catalog(three_ways["pool"].schema_name)

    assert {r[0] for r in migrated["relations"]} >= {"django_migrations", "projects_project", "audit_auditentry"}
    assert migrated["migrations"], "the migrated schema records its migrations"
    for part in migrated:
        assert fast[part] == migrated[part], part
        assert pool[part] == migrated[part], part


def test_no_tenant_table_holds_a_database_constraint_into_public(three_ways: dict[str, Tenant]) -> None:
    """Each such constraint would hang two triggers per workspace on the public table (see tenants.references)."""
    for tenant in three_ways.values():
        foreign = [c for c in catalog(tenant.schema_name)["constraints"] if c[2] == "f"]
        assert any("REFERENCES projects_project(id)" in c[3] for c in foreign), tenant.name  # within the schema
        assert [c for c in foreign if "public." in c[3]] == [], tenant.name
        assert all("<schema>" not in c[3] for c in foreign)


def orphan_task_checked() -> None:
    Task.objects.create(title="Orphan", project_id=999_999_999)
    with connection.cursor() as cursor:  # if the constraint is deferred: check it now
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_rows_ids_and_foreign_keys_behave_the_same_in_every_way(three_ways: dict[str, Tenant], in_tenant) -> None:
    user = UserFactory.create()
    seen = {}
    for way, tenant in three_ways.items():
        with in_tenant(tenant):
            first = Project.objects.create(name="First", created_by=user)
            second = Project.objects.create(name="Second")
            entry = AuditEntry.objects.create(action="x", actor=user)
            perm: Any = assign_perm("projects.change_project", user, first)
            with pytest.raises(IntegrityError), transaction.atomic():  # a foreign key inside the schema holds
                orphan_task_checked()
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM django_migrations")
                recorded = cursor.fetchone()[0]
            seen[way] = (first.pk, second.pk, entry.pk, perm.pk, recorded, Project.objects.count())

    assert seen["fast"] == seen["migrations"]
    assert seen["pool"] == seen["migrations"]
    assert seen["migrations"][:4] == (1, 2, 1, 1)


# ---------------------------------------------------------------------------------------------------------------------
# Creation through the services
# ---------------------------------------------------------------------------------------------------------------------


def _schemas() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 't\\_%'")
        return {row[0] for row in cursor.fetchall()}


def _counts() -> tuple[int, int, int, int]:
    return Tenant.objects.count(), Domain.objects.count(), Membership.objects.count(), User.objects.count()


@pytest.fixture
def empty_pool(db: None, _session_tenants: dict[str, Tenant], settings: Any) -> None:
    """No claimable spare (any committed by earlier tests are hidden for this test's transaction)."""
    settings.TENANT_POOL_SIZE = 0
    Tenant.objects.filter(status=TenantStatus.SPARE).update(status=TenantStatus.SUSPENDED)


@pytest.mark.usefixtures("empty_pool")
def test_signup_uses_the_fast_path_when_the_pool_is_empty(in_tenant) -> None:
    tenant, owner = services.workspace_create(slug="fastco", name="Fast Co", owner_email="o@fast.test")

    assert tenant.status == TenantStatus.ACTIVE
    assert schema_exists(tenant.schema_name)
    with in_tenant(tenant):
        entry = AuditEntry.objects.get(action="tenant.created")
        assert entry.metadata["provisioned_via"] == "fast"
        assert Project.objects.count() == 0
    assert Domain.objects.get(tenant=tenant).domain == "fastco.localhost"
    assert Membership.objects.get(tenant=tenant).user == owner


def test_signup_claims_a_spare_when_the_pool_has_one(tenant: Tenant, in_tenant, settings: Any) -> None:
    settings.TENANT_POOL_SIZE = 5
    spare = provisioning.spare_create()
    Tenant.objects.filter(status=TenantStatus.SPARE).exclude(pk=spare.pk).update(status=TenantStatus.SUSPENDED)

    created, _owner = services.workspace_create(slug="poolco", name="Pool Co", owner_email="o@pool.test")

    assert created.pk == spare.pk
    assert created.schema_name == spare.schema_name
    created.refresh_from_db()
    assert (created.name, created.status) == ("Pool Co", TenantStatus.ACTIVE)
    with in_tenant(created):
        assert AuditEntry.objects.get(action="tenant.created").metadata["provisioned_via"] == "pool"
    assert not Tenant.objects.filter(status=TenantStatus.SPARE).exists()


def test_a_pool_claim_is_one_short_transaction(tenant: Tenant, settings: Any) -> None:
    settings.TENANT_POOL_SIZE = 5
    provisioning.spare_create()
    services.workspace_create(slug="warmup", name="Warm-up", owner_email="w@pool.test", method=Method.POOL)
    provisioning.spare_create()
    UserFactory.create(email="o@pool.test")

    with CaptureQueriesContext(connection) as ctx:
        services.workspace_create(slug="poolco", name="Pool Co", owner_email="o@pool.test", method=Method.POOL)

    statements = [q["sql"] for q in ctx.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    # The claim, the domain, the owner found, the membership, its event, the audit entry: the spare's migration state
    # was recorded when it was made, and this process knows it to be current (the warm-up claim checked it).
    assert len(statements) <= 6, statements
    assert sum("FOR UPDATE SKIP LOCKED" in sql for sql in statements) == 1
    assert not any("CREATE" in sql for sql in statements)  # no DDL: the schema was ready


def test_a_claim_passes_over_a_spare_behind_the_code_to_a_current_one(
    tenant: Tenant, settings: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """After a deploy, spares made before it wait for migrate_schemas; one made since is current and is taken."""

    settings.TENANT_POOL_SIZE = 5
    Tenant.objects.filter(status=TenantStatus.SPARE).update(status=TenantStatus.SUSPENDED)
    behind, current = provisioning.spare_create(), provisioning.spare_create()
    _made_before_the_deploy(behind)
    real = pool.schema_is_current
    monkeypatch.setattr(pool, "schema_is_current", lambda schema: schema != behind.schema_name and real(schema))

    claimed = pool.pool_claim(name="After the deploy")

    assert claimed is not None
    assert claimed.pk == current.pk
    assert (claimed.name, claimed.status) == ("After the deploy", TenantStatus.ACTIVE)
    given_back = Tenant.objects.get(pk=behind.pk)  # left for migrate_schemas, as it was
    assert (given_back.status, given_back.name) == (TenantStatus.SPARE, "Spare")
    assert (given_back.created_at, given_back.updated_at) == (behind.created_at, behind.updated_at)
    assert given_back.status_changed_at == behind.status_changed_at
    assert "skipping a spare that is behind the code" in caplog.text


def test_a_claim_with_only_spares_behind_the_code_takes_none(tenant: Tenant, monkeypatch: pytest.MonkeyPatch) -> None:

    Tenant.objects.filter(status=TenantStatus.SPARE).update(status=TenantStatus.SUSPENDED)
    _made_before_the_deploy(provisioning.spare_create())
    monkeypatch.setattr(pool, "schema_is_current", lambda schema: False)

    assert pool.pool_claim(name="Nobody") is None


def _made_before_the_deploy(spare: Tenant) -> None:
    """The migration state the spare recorded is one this code has never seen (it was made by the code before)."""
    Tenant.objects.filter(pk=spare.pk).update(migrations_fingerprint="made-before-the-deploy")


def test_a_spare_whose_recorded_state_is_known_current_is_claimed_without_reading_its_migrations(
    tenant: Tenant, settings: Any
) -> None:
    settings.TENANT_POOL_SIZE = 5
    Tenant.objects.filter(status=TenantStatus.SPARE).update(status=TenantStatus.SUSPENDED)
    spare = provisioning.spare_create()
    assert spare.migrations_fingerprint == provisioning.migrations_fingerprint(spare.schema_name)
    assert pool.schema_is_current(spare.schema_name)  # this process now knows that state to be current

    with CaptureQueriesContext(connection) as ctx:
        claimed = pool.pool_claim(name="Known state")

    assert claimed is not None
    assert claimed.pk == spare.pk
    assert [q["sql"] for q in ctx.captured_queries if "django_migrations" in q["sql"]] == []


def test_a_spare_recorded_before_a_deploy_but_migrated_since_is_checked_and_claimed(tenant: Tenant) -> None:
    Tenant.objects.filter(status=TenantStatus.SPARE).update(status=TenantStatus.SUSPENDED)
    spare = provisioning.spare_create()
    _made_before_the_deploy(spare)  # its schema is current all the same (migrate_schemas ran since)

    with CaptureQueriesContext(connection) as ctx:
        claimed = pool.pool_claim(name="Migrated since")

    assert claimed is not None
    assert claimed.pk == spare.pk
    assert any("django_migrations" in q["sql"] for q in ctx.captured_queries)  # asked the schema itself


@pytest.mark.usefixtures("empty_pool")
def test_asking_for_the_pool_when_it_is_empty_is_a_clear_error() -> None:
    before, schemas = _counts(), _schemas()

    with pytest.raises(provisioning.PoolEmpty, match="no spare"):
        services.workspace_create(slug="poolco", name="Pool Co", owner_email="o@pool.test", method=Method.POOL)

    assert _counts() == before
    assert _schemas() == schemas


@pytest.mark.usefixtures("empty_pool")
def test_a_failure_between_schema_creation_and_domain_insert_leaves_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    before, schemas = _counts(), _schemas()
    real_provision = provisioning.provision
    made: list[str] = []

    def provision_then_fail(**kwargs: Any) -> Any:
        tenant, _via = real_provision(**kwargs)
        assert schema_exists(tenant.schema_name)  # the schema is there...
        made.append(tenant.schema_name)
        raise RuntimeError("simulated failure before the domain insert")

    monkeypatch.setattr("tenants.services.provisioning.provision", provision_then_fail)
    with pytest.raises(RuntimeError, match="simulated"):
        services.workspace_create(slug="halfway", name="Halfway", owner_email="h@h.test")

    assert made
    assert not schema_exists(made[0])  # ...and gone with the transaction
    assert _counts() == before
    assert _schemas() == schemas
    assert not Domain.objects.filter(domain="halfway.localhost").exists()


def test_a_failed_pool_claim_leaves_the_spare_intact(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.TENANT_POOL_SIZE = 5
    spare = provisioning.spare_create()
    Tenant.objects.filter(status=TenantStatus.SPARE).exclude(pk=spare.pk).update(status=TenantStatus.SUSPENDED)
    before = _counts()

    def explode(**kwargs: object) -> None:
        raise RuntimeError("simulated failure after the claim")

    monkeypatch.setattr("shared_apps.workspaces.services.creation.membership_create", explode)
    with pytest.raises(RuntimeError, match="simulated"):
        services.workspace_create(slug="halfway", name="Halfway", owner_email="h@h.test")

    spare.refresh_from_db()
    assert (spare.status, spare.name) == (TenantStatus.SPARE, "Spare")
    assert schema_exists(spare.schema_name)
    assert _counts() == before
    assert not Domain.objects.filter(tenant=spare).exists()


def test_a_taken_subdomain_fails_the_claim_with_one_clear_error_and_gives_the_spare_back(
    tenant: Tenant, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The unique index on the host decides: SubdomainTaken, the only error, and the signup's transaction (the claim
    with it) is rolled back."""
    settings.TENANT_POOL_SIZE = 5
    Tenant.objects.filter(status=TenantStatus.SPARE).update(status=TenantStatus.SUSPENDED)
    provisioning.spare_create()
    services.workspace_create(slug="takenco", name="Taken Co", owner_email="first@taken.test", method=Method.POOL)
    spare = provisioning.spare_create()
    before = _counts()

    with pytest.raises(SubdomainTaken, match="takenco"):
        services.workspace_create(slug="takenco", name="Again", owner_email="second@taken.test", method=Method.POOL)

    spare.refresh_from_db()
    assert (spare.status, spare.name) == (TenantStatus.SPARE, "Spare")
    assert _counts() == before
    assert not User.objects.filter(email="second@taken.test").exists()
    assert [r for r in caplog.records if r.name == "psycopg"] == []  # no second error logged on the way out
    created, _owner = services.workspace_create(slug="nextco", name="Next", owner_email="n@taken.test")
    assert created.pk == spare.pk  # the connection is fine for the next signup


@pytest.mark.usefixtures("empty_pool")
def test_a_template_behind_the_code_is_never_copied(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(provisioning._Graph, "_verdicts", {})
    monkeypatch.setattr(provisioning._Graph, "is_current", classmethod(lambda cls, applied, fingerprint="": False))

    with pytest.raises(provisioning.FastPathUnavailable, match="behind"):
        provisioning.snapshot_for_template()
    tenant, _owner = services.workspace_create(slug="slowco", name="Slow Co", owner_email="o@slow.test")

    assert schema_exists(tenant.schema_name)  # made by migrations instead
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{tenant.schema_name}".django_migrations')  # noqa: S608
        assert cursor.fetchone()[0] > 0


@pytest.mark.usefixtures("empty_pool")
def test_a_template_with_objects_the_snapshot_cannot_copy_falls_back_to_migrations() -> None:
    template = provisioning.template_get()
    assert template is not None
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE VIEW "{template.schema_name}".oddity AS SELECT 1 AS one')
    provisioning.snapshots_clear()
    try:
        with pytest.raises(provisioning.FastPathUnavailable, match="oddity"):
            provisioning.snapshot_for_template()
        tenant, _owner = services.workspace_create(slug="oddco", name="Odd Co", owner_email="o@odd.test")
        assert schema_exists(tenant.schema_name)
    finally:
        provisioning.snapshots_clear()


# ---------------------------------------------------------------------------------------------------------------------
# The pool: fill, status, refill
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("empty_pool")
def test_pool_fill_and_status_commands_show_progress_and_counts() -> None:
    out = StringIO()
    call_command("tenant", "pool", "fill", "--size", "3", stdout=out)

    assert "3/3 spares" in out.getvalue()
    assert "Created 3 spare(s); the pool holds 3." in out.getvalue()
    spares = Tenant.objects.filter(status=TenantStatus.SPARE)
    assert spares.count() == 3
    assert all(schema_exists(s.schema_name) and not s.domains.exists() for s in spares)

    out = StringIO()
    call_command("tenant", "pool", "status", stdout=out)
    assert "Spares:   3 ready of 0 wanted" in out.getvalue()
    assert "(up to date)" in out.getvalue()


@pytest.mark.usefixtures("empty_pool")
def test_a_full_pool_is_not_filled_again() -> None:
    tenancy.pool_fill(size=2)

    result = tenancy.pool_fill(size=2)

    assert (result.created, result.spares) == (0, 2)


def test_signup_queues_a_pool_refill_after_commit(
    tenant: Tenant, settings: Any, django_capture_on_commit_callbacks
) -> None:
    settings.TENANT_POOL_SIZE = 2
    Tenant.objects.filter(status=TenantStatus.SPARE).update(status=TenantStatus.SUSPENDED)

    with django_capture_on_commit_callbacks(execute=True):
        services.workspace_create(slug="refillco", name="Refill Co", owner_email="o@refill.test")

    assert Tenant.objects.filter(status=TenantStatus.SPARE).count() == 2  # refilled by the (eager) task


def test_spares_and_the_template_are_not_workspaces(tenant: Tenant, settings: Any) -> None:
    settings.TENANT_POOL_SIZE = 1
    spare = provisioning.spare_create()
    out = StringIO()

    call_command("tenant", "list", stdout=out)

    assert spare.schema_name not in out.getvalue()
    assert "Spare" not in out.getvalue()
    assert "Template" not in out.getvalue()
