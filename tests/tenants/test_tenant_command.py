from __future__ import annotations

import subprocess
import sys
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django_tenants.utils import schema_exists

from shared_apps.accounts.models import Membership, User
from tenant_apps.audit.models import AuditEntry
from tenants.models import Domain, Tenant, TenantStatus
from tests.helpers import subprocess_env


def run(*args: str) -> str:
    out = StringIO()
    call_command("tenant", *args, stdout=out)
    return out.getvalue()


def counts() -> tuple[int, int, int, int]:
    return Tenant.objects.count(), Domain.objects.count(), Membership.objects.count(), User.objects.count()


@pytest.mark.usefixtures("tenant", "other_tenant")
def test_create_makes_a_workspace_with_its_owner_and_prints_its_url(in_tenant, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        output = run(
            "create",
            "--slug",
            "Initech",
            "--name",
            "Initech",
            "--owner-email",
            "Bill@Initech.test",
            "--password",
            "a-long-enough-password",
        )

    assert "http://initech.localhost/" in output
    assert "Owner bill@initech.test (new account, with the password given)" in output
    tenant = Domain.objects.get(domain="initech.localhost").tenant
    assert tenant.name == "Initech"
    assert tenant.status == TenantStatus.ACTIVE
    assert tenant.schema_name.startswith("t_")
    assert "initech" not in tenant.schema_name
    assert schema_exists(tenant.schema_name)
    owner = User.objects.get(email="bill@initech.test")
    assert owner.check_password("a-long-enough-password")
    assert Membership.objects.get(tenant=tenant).role == "owner"
    with in_tenant(tenant):
        assert AuditEntry.objects.filter(action="tenant.created").count() == 1


def test_create_says_whether_the_owner_account_is_new(owner: User) -> None:
    generated = run("create", "--slug", "piedpiper", "--name", "Pied Piper", "--owner-email", "richard@piedpiper.test")
    existing = run("create", "--slug", "piedpiper-two", "--name", "Pied Piper 2", "--owner-email", owner.email)

    assert "Owner richard@piedpiper.test (new account), password: " in generated
    assert f"Owner {owner.email} (existing account; its password is unchanged)" in existing


@pytest.mark.usefixtures("tenant")
@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("acme", "is taken"),
        ("ab", "at least 3"),
        ("-acme", "start or end with a hyphen"),
        ("xn--acme", "xn--"),
        ("www", "reserved"),
        ("acme_inc", "lower-case letters"),
    ],
)
def test_create_refuses_bad_or_taken_subdomains_and_creates_nothing(slug: str, message: str) -> None:
    before = counts()
    schemas_before = _schemas()

    with pytest.raises(CommandError, match=message) as excinfo:
        run("create", f"--slug={slug}", "--name", "X", "--owner-email", "x@x.test")

    assert excinfo.value.returncode == 2
    assert counts() == before
    assert _schemas() == schemas_before


@pytest.mark.usefixtures("tenant")
def test_a_failure_after_the_schema_exists_leaves_nothing_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    before, schemas_before = counts(), _schemas()

    def explode(**kwargs: object) -> None:
        raise RuntimeError("simulated failure after schema creation")

    monkeypatch.setattr("shared_apps.workspaces.services.creation.membership_create", explode)
    with pytest.raises(RuntimeError):
        run("create", "--slug", "halfway", "--name", "Halfway", "--owner-email", "h@h.test")

    assert counts() == before
    assert _schemas() == schemas_before


@pytest.mark.usefixtures("tenant")
def test_bad_input_prints_one_line_on_stderr_and_exits_2() -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "tenant", "create", "--slug", "x", "--name", "X", "--owner-email", "x@x.test"],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        cwd=settings.BASE_DIR,
        check=False,
        timeout=60,
    )

    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["CommandError: Subdomains need at least 3 characters."]


def test_list_shows_slug_name_status_members_created(tenant: Tenant, owner: User, member: User) -> None:
    output = run("list")

    header, *rows = output.strip().splitlines()
    assert header.split() == ["SLUG", "NAME", "STATUS", "MEMBERS", "CREATED"]
    acme = next(r for r in rows if r.startswith("acme "))
    assert "Acme Inc" in acme
    assert "active" in acme
    assert " 2 " in acme


def test_suspend_and_resume(tenant: Tenant, in_tenant) -> None:
    assert "Suspended Acme Inc" in run("suspend", "acme", "--reason", "unpaid")
    tenant.refresh_from_db()
    assert tenant.status == TenantStatus.SUSPENDED

    assert "Resumed Acme Inc" in run("resume", "acme")
    tenant.refresh_from_db()
    assert tenant.status == TenantStatus.ACTIVE
    with in_tenant(tenant):
        assert list(AuditEntry.objects.order_by("id").values_list("action", flat=True)) == [
            "tenant.suspended",
            "tenant.resumed",
        ]


@pytest.mark.usefixtures("tenant")
def test_unknown_tenant_is_a_clear_error() -> None:
    with pytest.raises(CommandError, match="No workspace with the subdomain “nobody”") as excinfo:
        run("suspend", "nobody")
    assert excinfo.value.returncode == 2


@pytest.mark.usefixtures("tenant")
def test_resuming_an_active_tenant_says_so() -> None:
    with pytest.raises(CommandError, match="is not suspended"):
        run("resume", "acme")


@pytest.mark.usefixtures("tenant")
def test_delete_needs_confirmation_without_yes() -> None:
    with pytest.raises(CommandError, match="--yes"):
        run("delete", "acme")
    assert Domain.objects.filter(domain="acme.localhost").exists()


@pytest.mark.usefixtures("tenant")
def test_delete_with_yes_drops_the_schema_and_rows() -> None:
    run("create", "--slug", "doomed", "--name", "Doomed", "--owner-email", "d@d.test")
    schema = Domain.objects.get(domain="doomed.localhost").tenant.schema_name

    assert "Deleted Doomed" in run("delete", "doomed", "--yes")

    assert not schema_exists(schema)
    assert not Tenant.objects.filter(schema_name=schema).exists()
    assert not Domain.objects.filter(domain="doomed.localhost").exists()
    assert User.objects.filter(email="d@d.test").exists()  # accounts are global; only the membership goes


def _schemas() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 't\\_%'")
        return {row[0] for row in cursor.fetchall()}
