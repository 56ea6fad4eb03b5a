"""The tenant lifecycle: rename, custom domains, scheduled deletion and restore, purge, export. Each through its
service and `tenant` subcommand, with clear errors on bad input and an audit entry."""

from __future__ import annotations

import hashlib
import json
import tarfile
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import caches
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_exists

from shared_apps.accounts.models import Membership, Role, User
from shared_apps.accounts.permissions import NotAllowed
from shared_apps.workspaces import services
from shared_apps.workspaces.tasks import purge_due
from tenant_apps.audit.models import AuditEntry
from tenants import provisioning, routing
from tenants.db import connection
from tenants.errors import DomainInvalid, DomainTaken, SubdomainInvalid, SubdomainTaken, TenantError
from tenants.lifecycle import cache_purge
from tenants.models import Domain, Tenant, TenantEvent, TenantStatus
from tests.factories import MembershipFactory


def run(*args: str) -> str:
    out = StringIO()
    call_command("tenant", *args, stdout=out)
    return out.getvalue()


def actions(tenant: Tenant, in_tenant: Any) -> list[str]:
    with in_tenant(tenant):
        return list(AuditEntry.objects.order_by("id").values_list("action", flat=True))


# ---------------------------------------------------------------------------------------------------------------------
# Rename
# ---------------------------------------------------------------------------------------------------------------------


def test_rename_moves_the_workspace_and_the_old_host_redirects(tenant: Tenant, in_tenant: Any) -> None:
    schema = tenant.schema_name

    output = run("rename-subdomain", "acme", "acme-corp")

    assert "now at http://acme-corp.localhost/" in output
    tenant.refresh_from_db()
    assert tenant.schema_name == schema  # no schema rename
    new, old = Domain.objects.get(domain="acme-corp.localhost"), Domain.objects.get(domain="acme.localhost")
    assert (new.is_primary, new.tenant) == (True, tenant)
    assert (old.is_primary, old.tenant) == (False, tenant)
    assert old.redirect_until is not None
    assert old.redirect_until > timezone.now() + timedelta(days=29)
    response = Client(HTTP_HOST="acme.localhost").get("/projects/?page=2")
    assert response.status_code == 302
    assert response["Location"] == "http://acme-corp.localhost/projects/?page=2"
    assert routing.resolve("acme-corp.localhost").schema_name == schema  # type: ignore[union-attr]
    assert actions(tenant, in_tenant) == ["tenant.subdomain_renamed"]


def test_the_old_subdomain_is_released_when_its_redirect_expires(tenant: Tenant, in_tenant: Any) -> None:
    services.workspace_rename_subdomain(tenant=tenant, new_slug="acme-corp", acting_user=None)
    with pytest.raises(SubdomainTaken):  # still held during the grace period
        services.workspace_create(slug="acme", name="Squatter", owner_email="s@s.test")
    Domain.objects.filter(domain="acme.localhost").update(redirect_until=timezone.now() - timedelta(seconds=1))

    assert services.domains_expire_redirects() == 1

    assert not Domain.objects.filter(domain="acme.localhost").exists()
    assert actions(tenant, in_tenant)[-1] == "tenant.redirect_expired"
    other, _ = services.workspace_create(slug="acme", name="New Acme", owner_email="n@n.test")
    assert other.pk != tenant.pk


@pytest.mark.parametrize(
    ("new_slug", "error", "message"),
    [
        ("globex", SubdomainTaken, "The subdomain “globex” is taken."),
        ("www", SubdomainInvalid, "“www” is reserved. Choose another subdomain."),
        ("a_b", SubdomainInvalid, "Use only lower-case letters a-z, digits and hyphens."),
        ("acme", TenantError, "Acme Inc is already at acme.localhost."),
    ],
)
def test_rename_refuses_bad_or_taken_subdomains_and_changes_nothing(
    tenant: Tenant, other_tenant: Tenant, new_slug: str, error: type[Exception], message: str, in_tenant: Any
) -> None:
    before = sorted(Domain.objects.values_list("domain", "is_primary", "tenant_id"))

    with pytest.raises(error) as excinfo:
        services.workspace_rename_subdomain(tenant=tenant, new_slug=new_slug, acting_user=None)

    assert excinfo.value.message == message  # type: ignore[attr-defined]
    assert sorted(Domain.objects.values_list("domain", "is_primary", "tenant_id")) == before
    assert actions(tenant, in_tenant) == []


# ---------------------------------------------------------------------------------------------------------------------
# Custom domains
# ---------------------------------------------------------------------------------------------------------------------


def test_add_and_remove_a_custom_domain(tenant: Tenant, in_tenant: Any) -> None:
    assert "Added projects.acme.com to Acme Inc." in run("add-domain", "acme", "Projects.Acme.com")

    domain = Domain.objects.get(domain="projects.acme.com")
    assert (domain.tenant, domain.is_primary) == (tenant, False)
    route = routing.resolve("projects.acme.com")
    assert route is not None
    assert (route.schema_name, route.primary_host) == (tenant.schema_name, "acme.localhost")

    assert "Removed projects.acme.com from Acme Inc." in run("remove-domain", "acme", "projects.acme.com")
    assert not Domain.objects.filter(domain="projects.acme.com").exists()
    assert routing.resolve("projects.acme.com") is None
    assert actions(tenant, in_tenant) == ["tenant.domain_added", "tenant.domain_removed"]


def test_a_custom_domain_is_served_not_redirected(tenant: Tenant, owner: User, settings: Any) -> None:
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "projects.acme.com"]
    services.workspace_domain_add(tenant=tenant, domain="projects.acme.com", acting_user=None)

    response = Client(HTTP_HOST="projects.acme.com").get("/")

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/"  # acme's own sign-in, on the custom domain itself


def test_custom_domain_errors_are_clear(tenant: Tenant, other_tenant: Tenant) -> None:
    services.workspace_domain_add(tenant=other_tenant, domain="globex.com", acting_user=None)

    with pytest.raises(DomainTaken, match=r"globex\.com is already in use\."):
        services.workspace_domain_add(tenant=tenant, domain="globex.com", acting_user=None)
    with pytest.raises(DomainInvalid, match="subdomains"):
        services.workspace_domain_add(tenant=tenant, domain="other.localhost", acting_user=None)
    with pytest.raises(TenantError, match="is the primary host"):
        services.workspace_domain_remove(tenant=tenant, domain="acme.localhost", acting_user=None)
    with pytest.raises(TenantError, match=r"globex\.com is not a domain of Acme Inc\."):
        services.workspace_domain_remove(tenant=tenant, domain="globex.com", acting_user=None)
    with pytest.raises(CommandError, match="No workspace with the subdomain “nobody”") as excinfo:
        run("add-domain", "nobody", "nobody.com")
    assert excinfo.value.returncode == 2


# ---------------------------------------------------------------------------------------------------------------------
# Scheduled deletion and restore
# ---------------------------------------------------------------------------------------------------------------------


def test_schedule_deletion_shows_410_and_restore_brings_the_workspace_back(
    tenant: Tenant, owner: User, tenant_client: Client, in_tenant: Any
) -> None:
    output = run("schedule-deletion", "acme", "--reason", "customer asked")

    assert "is scheduled for deletion on" in output
    tenant.refresh_from_db()
    assert tenant.status == TenantStatus.SCHEDULED_DELETION
    assert tenant.status_before_deletion == TenantStatus.ACTIVE
    assert tenant.deletion_scheduled_at is not None
    assert timedelta(days=29, hours=23) < tenant.deletion_scheduled_at - timezone.now() <= timedelta(days=30)
    assert tenant_client.get("/").status_code == 410

    assert "Restored Acme Inc (active)." in run("restore", "acme")
    tenant.refresh_from_db()
    assert (tenant.status, tenant.deletion_scheduled_at, tenant.status_before_deletion) == ("active", None, "")
    tenant_client.force_login(owner)
    assert tenant_client.get("/").status_code == 200
    assert actions(tenant, in_tenant) == ["tenant.deletion_scheduled", "tenant.restored"]


def test_restore_returns_to_the_status_before_deletion(tenant: Tenant) -> None:
    services.workspace_suspend(tenant=tenant, acting_user=None, reason="abuse")
    services.workspace_schedule_deletion(tenant=tenant, acting_user=None)

    restored = services.workspace_restore(tenant=tenant, acting_user=None)

    assert restored.status == TenantStatus.SUSPENDED  # scheduling and restoring is no way out of a suspension


def test_owners_can_restore_members_cannot(tenant: Tenant, owner: User, member: User) -> None:
    services.workspace_schedule_deletion(tenant=tenant, acting_user=owner)

    with pytest.raises(NotAllowed, match=r"Only an owner of Acme Inc can restore it\."):
        services.workspace_restore(tenant=tenant, acting_user=member)
    assert services.workspace_restore(tenant=tenant, acting_user=owner).status == TenantStatus.ACTIVE


def test_lifecycle_transitions_refuse_with_clear_messages(tenant: Tenant) -> None:
    with pytest.raises(CommandError, match=r"Acme Inc is not scheduled for deletion\.") as excinfo:
        run("restore", "acme")
    assert excinfo.value.returncode == 2
    with pytest.raises(CommandError, match="not scheduled for deletion; schedule it first"):
        run("purge", "acme", "--yes")
    services.workspace_schedule_deletion(tenant=tenant, acting_user=None)
    with pytest.raises(CommandError, match="already scheduled for deletion"):
        run("schedule-deletion", "acme")
    with pytest.raises(CommandError, match="restore it first"):
        run("rename-subdomain", "acme", "acme-two")
    assert schema_exists(tenant.schema_name)


# ---------------------------------------------------------------------------------------------------------------------
# Purge
# ---------------------------------------------------------------------------------------------------------------------


@pytest.fixture
def doomed(db: None, _session_tenants: dict[str, Tenant], settings: Any) -> Tenant:
    settings.TENANT_POOL_SIZE = 0
    tenant, _owner = services.workspace_create(slug="doomed", name="Doomed Ltd", owner_email="d@doomed.test")
    services.workspace_domain_add(tenant=tenant, domain="doomed.example.com", acting_user=None)
    return tenant


def test_purge_drops_schema_files_cache_and_keeps_a_public_record(
    doomed: Tenant, other_tenant: Tenant, in_tenant: Any, django_capture_on_commit_callbacks: Any
) -> None:
    schema = doomed.schema_name
    default_storage.save(f"{schema}/docs/plan.txt", ContentFile(b"secret"))
    default_storage.save(f"{other_tenant.schema_name}/docs/plan.txt", ContentFile(b"theirs"))
    with in_tenant(doomed):
        caches["default"].set("greeting", "hello")
    with in_tenant(other_tenant):
        caches["default"].set("greeting", "hello")
    services.workspace_schedule_deletion(tenant=doomed, acting_user=None)

    with django_capture_on_commit_callbacks(execute=True):
        output = run("purge", "doomed", "--yes")

    assert "Purged Doomed Ltd" in output
    assert not schema_exists(schema)
    assert not Tenant.objects.filter(pk=doomed.pk).exists()
    assert not Domain.objects.filter(domain__in=["doomed.localhost", "doomed.example.com"]).exists()
    assert not Membership.objects.filter(tenant_id=doomed.pk).exists()
    assert not default_storage.exists(f"{schema}/docs/plan.txt")
    assert default_storage.exists(f"{other_tenant.schema_name}/docs/plan.txt")
    with in_tenant(other_tenant):
        assert caches["default"].get("greeting") == "hello"
    with in_tenant(doomed):  # keys carry the schema; no query needed to build one
        assert caches["default"].get("greeting") is None
    assert routing.resolve("doomed.localhost") is None
    event = TenantEvent.objects.get(schema_name=schema)
    assert (event.action, event.tenant_name, event.tenant_id) == ("tenant.purged", "Doomed Ltd", doomed.pk)
    assert sorted(event.metadata["hosts"]) == ["doomed.example.com", "doomed.localhost"]
    assert event.metadata["early"] is True


@pytest.mark.django_db
def test_cache_purge_deletes_that_schemas_entries_only() -> None:

    cache = caches["default"]
    # `t_ab1` as a LIKE pattern would also match `txab1`; `t_ab10` shares its first characters
    for schema in ("t_ab1", "txab1", "t_ab10", "public"):
        connection.set_schema(schema)
        cache.set("greeting", schema)
        cache.set("other", schema)
    connection.set_schema_to_public()

    assert cache_purge("t_ab1") == 2

    for schema in ("t_ab1", "txab1", "t_ab10", "public"):
        connection.set_schema(schema)
        assert cache.get("greeting") == (None if schema == "t_ab1" else schema)
    connection.set_schema_to_public()


def test_the_beat_task_purges_only_workspaces_past_their_grace_period(doomed: Tenant, tenant: Tenant) -> None:

    services.workspace_schedule_deletion(tenant=doomed, acting_user=None)
    services.workspace_schedule_deletion(tenant=tenant, acting_user=None)
    Tenant.objects.filter(pk=doomed.pk).update(deletion_scheduled_at=timezone.now() - timedelta(minutes=1))

    purged = purge_due.delay().get()

    assert purged == [doomed.schema_name]
    assert not schema_exists(doomed.schema_name)
    assert schema_exists(tenant.schema_name)
    assert TenantEvent.objects.filter(schema_name=doomed.schema_name, action="tenant.purged").exists()


def test_a_failing_purge_leaves_everything_in_place(doomed: Tenant, monkeypatch: pytest.MonkeyPatch) -> None:
    services.workspace_schedule_deletion(tenant=doomed, acting_user=None)

    def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("simulated failure while dropping")

    monkeypatch.setattr(Tenant, "delete", explode)
    with pytest.raises(RuntimeError):
        services.workspace_purge(tenant=doomed, acting_user=None)

    assert schema_exists(doomed.schema_name)
    assert Tenant.objects.filter(pk=doomed.pk, status=TenantStatus.SCHEDULED_DELETION).exists()
    assert not TenantEvent.objects.filter(schema_name=doomed.schema_name).exists()


def test_immediate_delete_also_leaves_a_public_record(doomed: Tenant) -> None:
    run("delete", "doomed", "--yes")

    assert TenantEvent.objects.get(schema_name=doomed.schema_name).action == "tenant.deleted"


def test_the_template_and_spares_are_not_workspaces_to_change(tenant: Tenant, settings: Any) -> None:
    settings.TENANT_POOL_SIZE = 1
    spare = provisioning.spare_create()
    template = provisioning.template_get()
    assert template is not None

    for row in (spare, template):
        with pytest.raises(TenantError, match="is not a workspace"):
            services.workspace_schedule_deletion(tenant=row, acting_user=None)
        with pytest.raises(TenantError, match="is not a workspace"):
            services.workspace_domain_add(tenant=row, domain="x.example.com", acting_user=None)
    with pytest.raises(TenantError, match="not a workspace"):
        services.workspace_delete(tenant=template, acting_user=None)


# ---------------------------------------------------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------------------------------------------------


def test_export_writes_a_pg_dump_of_the_schema_with_a_manifest(
    tenant: Tenant, owner: User, tmp_path: Path, in_tenant: Any
) -> None:
    default_storage.save(f"{tenant.schema_name}/avatars/a.png", ContentFile(b"png!"))
    archive_path = tmp_path / "acme.tar.gz"

    output = run("export", "acme", "--output", str(archive_path))

    assert f"Exported Acme Inc to {archive_path}" in output
    with tarfile.open(archive_path) as archive:
        names = archive.getnames()
        root = names[0].split("/")[0]
        assert sorted(n.removeprefix(root + "/") for n in names) == [
            "files/avatars/a.png",
            "manifest.json",
            "schema.sql",
        ]
        manifest = json.loads(archive.extractfile(f"{root}/manifest.json").read())  # type: ignore[union-attr]
        dump = archive.extractfile(f"{root}/schema.sql").read().decode()  # type: ignore[union-attr]
    schema = tenant.schema_name
    assert f"CREATE TABLE {schema}.projects_project" in dump
    assert f"COPY {schema}.django_migrations" in dump  # data, not only structure
    assert "CREATE TABLE public." not in dump
    assert manifest["tenant"] | {"id": None} == {
        "id": None,
        "name": "Acme Inc",
        "status": "active",
        "schema": schema,
        "created_at": tenant.created_at.isoformat(),
    }
    assert manifest["domains"] == [{"domain": "acme.localhost", "is_primary": True}]
    assert manifest["members"] == [{"email": owner.email, "role": Role.OWNER}]
    assert manifest["database"]["tables"]["django_migrations"] > 0
    assert manifest["files"] == [{"path": "avatars/a.png", "size": 4, "sha256": hashlib.sha256(b"png!").hexdigest()}]
    assert names[0] == f"{root}/manifest.json"  # first: an import checks it before reading on
    assert actions(tenant, in_tenant) == ["tenant.exported"]


def test_export_errors_are_clear(tenant: Tenant) -> None:
    with pytest.raises(CommandError, match="No workspace with the subdomain “nobody”"):
        run("export", "nobody")


def test_export_never_replaces_what_exists(tenant: Tenant, tmp_path: Path, in_tenant: Any) -> None:
    existing = tmp_path / "keep.txt"
    existing.write_text("precious")
    link = tmp_path / "link.tar.gz"
    link.symlink_to(tmp_path / "nowhere")

    for target, message in (
        (existing, "already exists"),
        (link, "already exists"),
        (tmp_path / "missing" / "a.tar.gz", "is not a directory"),
    ):
        with pytest.raises(CommandError, match=message) as refused:
            run("export", "acme", "--output", str(target))
        assert refused.value.returncode == 2
    assert existing.read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt", "link.tar.gz"]  # no partial file left
    assert actions(tenant, in_tenant) == []


def test_export_into_a_directory_names_the_archive_there(tenant: Tenant, tmp_path: Path) -> None:
    output = run("export", "acme", "--output", str(tmp_path))

    made = list(tmp_path.iterdir())
    assert len(made) == 1
    assert made[0].name.startswith("acme-")
    assert made[0].name.endswith(".tar.gz")
    assert str(made[0]) in output


def test_export_refuses_a_device(tenant: Tenant) -> None:
    """`--output /dev/null` once replaced the device with a regular file when run as root."""
    with pytest.raises(CommandError, match="already exists"):
        run("export", "acme", "--output", "/dev/null")
    assert Path("/dev/null").is_char_device()


def test_a_failed_export_leaves_no_partial_file(
    tenant: Tenant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("tenants.lifecycle._write_archive", broken)
    with pytest.raises(OSError, match="disk full"):
        run("export", "acme", "--output", str(tmp_path / "a.tar.gz"))
    assert list(tmp_path.iterdir()) == []


def test_members_cannot_schedule_deletion(tenant: Tenant, member: User) -> None:
    with transaction.atomic():
        MembershipFactory.create(tenant=tenant, role=Role.ADMIN, user__email="admin@acme.test")
    with pytest.raises(NotAllowed, match=r"Only an owner of Acme Inc can delete it\."):
        services.workspace_schedule_deletion(tenant=tenant, acting_user=member)
