"""The audit log: append-only in every ORM path, security events (sign-in, handoff, MFA, password) land in the right
workspace with IP and user agent, the page filters and paginates in a fixed number of queries, the CSV export streams,
and one workspace never sees another's entries."""

from __future__ import annotations

import ast
import csv
import io
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from allauth.mfa import signals
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shared_apps.accounts.models import User
from shared_apps.core.append_only import AppendOnly
from shared_apps.workspaces.services import workspace_domain_add
from tenant_apps.audit.actions import AuditAction
from tenant_apps.audit.models import AuditEntry
from tenant_apps.audit.services import audit_record
from tenants.models import Tenant
from tests.conftest import HostClient, client_for
from tests.factories import MembershipFactory, UserFactory
from tests.factories.accounts import PASSWORD
from tests.factories.people import add_members
from tests.helpers import handoff_ticket

# --- append-only -----------------------------------------------------------------------------------------------------


def test_no_orm_path_updates_or_deletes_an_entry(tenant: Tenant, owner: User, in_tenant: Any) -> None:
    with in_tenant(tenant):
        entry = audit_record(tenant=tenant, action=AuditAction.MEMBER_JOINED, actor=owner, target=owner)
        attempts = [
            lambda: entry.save(),
            lambda: entry.delete(),
            lambda: AuditEntry.objects.filter(pk=entry.pk).update(action="x"),
            lambda: AuditEntry.objects.all().delete(),
            lambda: AuditEntry.objects.filter(pk=entry.pk).delete(),
            lambda: AuditEntry.objects.bulk_update([entry], ["action"]),
            lambda: AuditEntry.objects.update_or_create(pk=entry.pk, defaults={"action": "x"}),
            lambda: AuditEntry._base_manager.filter(pk=entry.pk).update(action="x"),
            lambda: AuditEntry._base_manager.all()._raw_delete(connection.alias),
            lambda: AuditEntry.objects.select_for_update().filter(pk=entry.pk).update(action="x"),
        ]
        for attempt in attempts:
            with pytest.raises(AppendOnly):
                attempt()
        entry.refresh_from_db()
        assert entry.action == "member.joined"
        assert AuditEntry.objects.count() == 1


def test_an_account_deleted_leaves_its_entries_with_their_label(tenant: Tenant, in_tenant: Any) -> None:
    person = UserFactory.create(email="leaving@example.com")
    with in_tenant(tenant):
        entry = audit_record(tenant=tenant, action=AuditAction.MEMBER_LEFT, actor=person)
        with pytest.raises(AppendOnly):
            AuditEntry.objects.filter(pk=entry.pk).update(actor=None, action="x")  # nothing but the unlinking

        User.objects.filter(pk=person.pk).delete()

        entry.refresh_from_db()
    assert (entry.actor_id, entry.actor_label, entry.action) == (None, "leaving@example.com", "member.left")


def test_appending_still_works(tenant: Tenant, in_tenant: Any) -> None:
    with in_tenant(tenant):
        AuditEntry.objects.bulk_create([AuditEntry(action="a"), AuditEntry(action="b")])
        audit_record(tenant=tenant, action=AuditAction.MEMBER_LEFT, actor=None)
        assert AuditEntry.objects.count() == 3


def test_no_code_outside_the_tests_calls_update_or_delete_on_the_audit_log() -> None:
    """A static guard next to the runtime one: no module mentions the audit model and a mutating call together."""
    root = Path(settings.BASE_DIR)
    offenders = []
    for path in [*root.glob("*_apps/**/*.py"), *root.glob("tenants/**/*.py"), *root.glob("billing/**/*.py")]:
        if "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in {"update", "delete", "bulk_update", "_raw_delete", "_update"}
                and "auditentry" in ast.unparse(node.func.value).lower()
            ):
                offenders.append(f"{path.relative_to(root)}:{node.lineno} {ast.unparse(node)}")
    assert offenders == []


# --- security events -------------------------------------------------------------------------------------------------


def actions(tenant: Tenant, in_tenant: Any, **filters: Any) -> list[str]:
    with in_tenant(tenant):
        return list(AuditEntry.objects.filter(**filters).order_by("id").values_list("action", flat=True))


def test_a_sign_in_on_a_workspace_host_is_recorded_there_only(
    tenant: Tenant, other_tenant: Tenant, owner: User, in_tenant: Any
) -> None:
    MembershipFactory.create(tenant=other_tenant, user=owner)
    client = HostClient("acme.localhost", HTTP_USER_AGENT="Firefox/140 test")

    client.post("/login/", {"login": owner.email, "password": PASSWORD})

    with in_tenant(tenant):
        entry = AuditEntry.objects.get(action="auth.login")
    assert (entry.actor, entry.ip_address, entry.user_agent) == (owner, "127.0.0.1", "Firefox/140 test")
    assert entry.metadata["host"] == "acme.localhost"
    assert actions(other_tenant, in_tenant) == []


def test_a_sign_in_on_the_root_is_recorded_where_the_handoff_lands(
    tenant: Tenant, public_client: HostClient, owner: User, in_tenant: Any
) -> None:
    public_client.post("/accounts/login/", {"login": owner.email, "password": PASSWORD})
    assert actions(tenant, in_tenant) == []

    browser = client_for(tenant)
    url = handoff_ticket(public_client, browser, slug="acme")
    browser.get(url.removeprefix("http://acme.localhost"))

    assert actions(tenant, in_tenant) == ["auth.handoff"]  # once, not also as a plain sign-in


def test_mfa_changes_on_a_workspace_host_are_recorded(
    tenant_client: HostClient, tenant: Tenant, owner: User, in_tenant: Any, django_capture_on_commit_callbacks: Any
) -> None:

    tenant_client.post("/login/", {"login": owner.email, "password": PASSWORD})
    tenant_client.post("/accounts/reauthenticate/", {"password": PASSWORD})  # MFA changes ask for the password again
    page = tenant_client.get("/accounts/2fa/totp/activate/")
    assert page.status_code == 200, page.content[:200]
    secret = page.context["form"].secret
    code = format_hotp_value(hotp_value(secret, int(time.time()) // 30))

    with django_capture_on_commit_callbacks(execute=True):  # allauth signals after its transaction commits
        response = tenant_client.post("/accounts/2fa/totp/activate/", {"code": code})

    assert response.status_code == 302
    assert actions(tenant, in_tenant) == ["auth.login", "mfa.authenticator_added", "mfa.authenticator_added"]
    with in_tenant(tenant):
        added = AuditEntry.objects.filter(action="mfa.authenticator_added").order_by("id")
        assert [e.metadata for e in added] == [
            {"type": "totp", "host": "acme.localhost"},
            {"type": "recovery_codes", "host": "acme.localhost"},
        ]


def test_account_changes_on_the_root_are_recorded_in_each_of_the_persons_workspaces(
    tenant: Tenant, other_tenant: Tenant, owner: User, in_tenant: Any
) -> None:

    MembershipFactory.create(tenant=other_tenant, user=owner)
    authenticator = Authenticator.objects.create(user=owner, type=Authenticator.Type.TOTP, data={})

    signals.authenticator_removed.send(sender=Authenticator, request=None, user=owner, authenticator=authenticator)

    assert actions(tenant, in_tenant) == ["mfa.authenticator_removed"]
    assert actions(other_tenant, in_tenant) == ["mfa.authenticator_removed"]


def test_a_password_change_on_a_workspace_host_is_recorded(
    tenant_client: HostClient, tenant: Tenant, owner: User, in_tenant: Any
) -> None:
    tenant_client.force_login(owner)

    response = tenant_client.post(
        "/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": "another-long-passphrase-7", "password2": "another-long-passphrase-7"},
    )

    assert response.status_code == 302, response.content[:300]
    assert "account.password_changed" in actions(tenant, in_tenant)


def test_domain_events_are_in_the_log(tenant: Tenant, owner: User, in_tenant: Any) -> None:

    workspace_domain_add(tenant=tenant, domain="intranet.acme-corp.test", acting_user=owner)

    with in_tenant(tenant):
        entry = AuditEntry.objects.get(action="tenant.domain_added")
    assert entry.metadata == {"domain": "intranet.acme-corp.test"}
    assert entry.actor == owner


# --- the page --------------------------------------------------------------------------------------------------------


def seed(tenant: Tenant, in_tenant: Any, owner: User, member: User) -> None:
    with in_tenant(tenant):
        audit_record(tenant=tenant, action=AuditAction.MEMBER_JOINED, actor=member, target=member)
        audit_record(
            tenant=tenant,
            action=AuditAction.MEMBER_ROLE_CHANGED,
            actor=owner,
            target=member,
            metadata={"from": "member", "to": "admin"},
        )
        audit_record(
            tenant=tenant, action=AuditAction.INVITATION_CREATED, actor=owner, metadata={"email": "=cmd|' /C calc'!A0"}
        )
        audit_record(tenant=tenant, action=AuditAction.AUTH_LOGIN, actor=member, target=member)
        AuditEntry.objects.create(action="member.left", actor_label="gone@acme.test")
        # created_at is set on insert (entries are never changed): an old one is made at an old "now"
        with mock.patch("django.utils.timezone.now", return_value=datetime(2025, 1, 2, 12, tzinfo=UTC)):
            AuditEntry.objects.create(action="auth.login", actor_label="early@acme.test")


def test_owners_and_admins_see_the_log_with_actor_target_ip_and_time(
    tenant_client: HostClient, tenant: Tenant, owner: User, member: User, in_tenant: Any
) -> None:
    seed(tenant, in_tenant, owner, member)
    tenant_client.force_login(owner)

    response = tenant_client.get("/settings/audit/")

    assert response.status_code == 200
    content = response.content.decode().replace("<wbr>", "")  # addresses carry wrapping points
    assert "Role changed" in content
    assert "member.role_changed" in content
    assert "member → admin" in content
    assert "owner@acme.test" in content
    assert "member@acme.test" in content
    assert response.context["page"].paginator.count == 6


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"action": "member.joined"}, ["member.joined"]),
        ({"action": "member.*"}, ["member.left", "member.role_changed", "member.joined"]),
        ({"actor": "OWNER@acme"}, ["invitation.created", "member.role_changed"]),
        ({"date_to": "2025-01-02"}, ["auth.login"]),
        ({"date_from": "2025-01-03", "action": "auth.login"}, ["auth.login"]),
        ({"date_from": "2025-01-02", "date_to": "2025-01-02"}, ["auth.login"]),
        ({"date_from": "2025-01-01", "date_to": "2025-01-02", "actor": "early"}, ["auth.login"]),
    ],
)
def test_the_log_filters_by_action_actor_and_date(
    tenant_client: HostClient,
    tenant: Tenant,
    owner: User,
    member: User,
    in_tenant: Any,
    query: dict[str, str],
    expected: list[str],
) -> None:
    seed(tenant, in_tenant, owner, member)
    tenant_client.force_login(owner)

    response = tenant_client.get("/settings/audit/", query)

    assert [r["entry"].action for r in response.context["rows"]] == expected


def test_a_reversed_date_range_is_explained_next_to_the_field(
    tenant_client: HostClient, tenant: Tenant, owner: User
) -> None:
    tenant_client.force_login(owner)

    response = tenant_client.get("/settings/audit/", {"date_from": "2026-02-02", "date_to": "2026-01-01"})

    assert response.status_code == 200
    assert "The end date is before the start date." in response.content.decode()
    assert 'value="2026-02-02"' in response.content.decode()


def test_the_log_paginates(tenant_client: HostClient, tenant: Tenant, owner: User, in_tenant: Any) -> None:
    with in_tenant(tenant):
        AuditEntry.objects.bulk_create(AuditEntry(action="project.created", actor_label=f"p{i}") for i in range(120))
    tenant_client.force_login(owner)

    last = tenant_client.get("/settings/audit/", {"page": "3", "action": "project.created"})

    assert len(last.context["rows"]) == 20
    assert "action=project.created" in last.content.decode()  # filters kept in the page links
    assert "101\N{EN DASH}120 of 120" in last.content.decode()


def query_count(client: HostClient, path: str) -> int:
    client.get(path)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries.captured_queries)


def test_the_audit_page_costs_the_same_queries_at_1_and_500_members(
    tenant_client: HostClient, tenant: Tenant, owner: User, in_tenant: Any
) -> None:
    tenant_client.force_login(owner)
    with in_tenant(tenant):
        audit_record(tenant=tenant, action=AuditAction.MEMBER_JOINED, actor=owner, target=owner)
    alone = query_count(tenant_client, "/settings/audit/")

    memberships = add_members(tenant, 500)
    with in_tenant(tenant):
        AuditEntry.objects.bulk_create(
            AuditEntry(action="member.joined", actor=m.user, actor_label=m.user.email, target_label=m.user.email)
            for m in memberships
        )
    crowded = query_count(tenant_client, "/settings/audit/")
    filtered = query_count(tenant_client, "/settings/audit/?action=member.*&actor=bulk&page=2")

    assert alone == crowded == filtered
    assert alone <= 6  # session, user, membership, count, page
    print(f"audit page: {alone} queries at 1 member, {crowded} at 501")


def streamed(response: Any) -> str:
    return b"".join(response.streaming_content).decode()


# --- CSV export ------------------------------------------------------------------------------------------------------


def test_the_export_streams_the_filtered_log_as_csv_and_is_itself_recorded(
    tenant_client: HostClient, tenant: Tenant, owner: User, member: User, in_tenant: Any
) -> None:
    seed(tenant, in_tenant, owner, member)
    tenant_client.force_login(owner)

    response = tenant_client.get("/settings/audit/export.csv", {"actor": "owner@"})

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-log-')
    rows = list(csv.reader(io.StringIO(streamed(response))))
    assert rows[0] == [
        "time (UTC)", "action", "description", "actor", "target_type", "target", "ip_address", "user_agent", "details"
    ]  # fmt: skip
    assert [r[1] for r in rows[1:]] == ["invitation.created", "member.role_changed"]
    assert rows[1][8].startswith('{"email": "=cmd')  # inside JSON: not at the start of a cell
    assert all(not cell.startswith(("=", "+", "@")) for row in rows for cell in row)
    with in_tenant(tenant):
        exported = AuditEntry.objects.get(action="audit.exported")
    assert exported.metadata == {"actor": "owner@"}


def test_cells_that_a_spreadsheet_would_run_are_neutralised(
    tenant_client: HostClient, tenant: Tenant, owner: User, in_tenant: Any
) -> None:
    with in_tenant(tenant):
        AuditEntry.objects.create(action="member.joined", actor_label="=HYPERLINK(evil)", target_label="@SUM(1)")
    tenant_client.force_login(owner)

    body = streamed(tenant_client.get("/settings/audit/export.csv"))

    assert "'=HYPERLINK(evil)" in body
    assert "'@SUM(1)" in body


# --- isolation -------------------------------------------------------------------------------------------------------


def test_one_workspace_never_sees_anothers_entries(
    tenant: Tenant, other_tenant: Tenant, owner: User, outsider: User, in_tenant: Any
) -> None:
    with in_tenant(tenant):
        audit_record(tenant=tenant, action=AuditAction.MEMBER_JOINED, actor=owner, metadata={"secret": "acme-only"})
    globex = client_for(other_tenant)
    globex.force_login(outsider)

    page = globex.get("/settings/audit/")
    export = streamed(globex.get("/settings/audit/export.csv")).encode()

    assert page.context["page"].paginator.count == 0
    assert b"acme-only" not in page.content
    assert b"acme-only" not in export
    acme = client_for(tenant)
    acme.force_login(outsider)
    assert acme.get("/settings/audit/").status_code == 403
    assert acme.get("/settings/audit/export.csv").status_code == 403


def test_entries_record_time(tenant: Tenant, owner: User, in_tenant: Any) -> None:
    with in_tenant(tenant):
        entry = audit_record(tenant=tenant, action=AuditAction.MEMBER_JOINED, actor=owner)
    assert datetime.now(UTC) - entry.created_at < timedelta(seconds=5)
