"""Owners run their workspace from its settings: rename, move to another subdomain, custom domains, delete. Every
change goes through the workspaces services (audited, permission-checked); admins and members are refused and
nothing changes; workspace A's owner cannot touch B; hostile input gets a clear refusal."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.formats import date_format

from shared_apps.accounts.models import Role, User
from tenant_apps.audit.models import AuditEntry
from tenants import selectors as tenancy_selectors
from tenants.models import Domain, Tenant, TenantStatus
from tests.conftest import HostClient, client_for
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def signed_in(t: Tenant, user: User) -> HostClient:
    client = client_for(t)
    client.force_login(user)
    return client


def log(t: Tenant, in_tenant: Any) -> list[str]:
    with in_tenant(t):
        return list(AuditEntry.objects.order_by("pk").values_list("action", flat=True))


@pytest.fixture
def admin(tenant: Tenant) -> User:
    return MembershipFactory.create(tenant=tenant, role=Role.ADMIN, user__email="admin@acme.test").user


def state(t: Tenant) -> tuple[str, str, list[str]]:
    t.refresh_from_db()
    return t.name, t.status, sorted(Domain.objects.filter(tenant=t).values_list("domain", flat=True))


# --- the general page ----------------------------------------------------------------------------------------------


def test_owners_see_the_forms_admins_and_members_see_the_facts(tenant: Tenant, owner: User, admin: User) -> None:
    page = signed_in(tenant, owner).get("/settings/").content.decode()
    assert 'action="/settings/rename/"' in page
    assert 'action="/settings/subdomain/"' in page
    assert 'href="/settings/delete/"' in page
    assert 'href="/settings/domains/"' in page
    assert "tabs__soon" not in page
    page = signed_in(tenant, admin).get("/settings/").content.decode()
    assert "/settings/rename/" not in page
    assert "/settings/delete/" not in page
    assert "/settings/domains/" not in page


def test_the_general_page_costs_the_same_for_owners(tenant: Tenant, owner: User, member: User) -> None:
    client = signed_in(tenant, owner)
    client.get("/settings/")
    with CaptureQueriesContext(connection) as as_owner:
        assert client.get("/settings/").status_code == 200
    member_client = signed_in(tenant, member)
    member_client.get("/settings/")
    with CaptureQueriesContext(connection) as as_member:
        assert member_client.get("/settings/").status_code == 200
    assert len(as_owner.captured_queries) <= len(as_member.captured_queries) + 1


# --- rename ----------------------------------------------------------------------------------------------------------


def test_an_owner_renames_the_workspace_and_it_is_audited(tenant: Tenant, owner: User, in_tenant: Any) -> None:
    response = signed_in(tenant, owner).post("/settings/rename/", {"name": "  Acme Rockets  "})

    assert response.status_code == 302
    tenant.refresh_from_db()
    assert tenant.name == "Acme Rockets"
    assert log(tenant, in_tenant)[-1] == "tenant.renamed"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "This field is required."),
        ("   ", "This field is required."),
        ("Acme\x00Evil", "Null characters are not allowed."),
        ("Acme\nEvil", "cannot contain line breaks or control characters"),
        ("Acme\x1bEvil", "cannot contain line breaks or control characters"),
        ("x" * 150, "at most 100 characters"),
        ("x" * 100_000, "at most 200 characters"),
    ],
)
def test_hostile_names_are_refused_clearly(
    tenant: Tenant, owner: User, in_tenant: Any, name: str, message: str
) -> None:
    before = state(tenant)
    response = signed_in(tenant, owner).post("/settings/rename/", {"name": name})

    assert response.status_code == 400
    assert message in response.content.decode()
    assert state(tenant) == before
    assert "tenant.renamed" not in log(tenant, in_tenant)


@pytest.mark.parametrize("role", ["admin", "member"])
@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/settings/rename/", {"name": "Taken over"}),
        ("/settings/subdomain/", {"subdomain": "taken-over"}),
        ("/settings/domains/", {"domain": "evil.example.com"}),
        ("/settings/delete/", {"confirm": "acme"}),
    ],
)
def test_admins_and_members_are_refused_and_nothing_changes(
    tenant: Tenant, owner: User, admin: User, member: User, in_tenant: Any, role: str, path: str, data: dict[str, str]
) -> None:
    before, entries = state(tenant), log(tenant, in_tenant)
    response = signed_in(tenant, admin if role == "admin" else member).post(path, data)

    assert response.status_code == 403
    assert state(tenant) == before
    assert log(tenant, in_tenant) == entries


def test_the_owner_of_another_workspace_cannot_rename_move_or_delete_this_one(
    tenant: Tenant, other_tenant: Tenant, owner: User, outsider: User, in_tenant: Any
) -> None:
    before = state(tenant)
    client = client_for(tenant)
    client.force_login(outsider)  # signed in, but on acme's host, where they have no membership
    for path, data in [
        ("/settings/rename/", {"name": "Globex owns you"}),
        ("/settings/subdomain/", {"subdomain": "pwned"}),
        ("/settings/delete/", {"confirm": "acme"}),
    ]:
        assert client.post(path, data).status_code in (403, 404)
    assert state(tenant) == before
    # and on their own host, their forms act on their own workspace only
    response = signed_in(other_tenant, outsider).post("/settings/rename/", {"name": "Globex Two"})
    assert response.status_code == 302
    assert state(tenant) == before
    other_tenant.refresh_from_db()
    assert other_tenant.name == "Globex Two"


# --- subdomain -------------------------------------------------------------------------------------------------------


def test_moving_the_workspace_asks_for_confirmation_first_and_changes_nothing(
    tenant: Tenant, owner: User, in_tenant: Any
) -> None:
    before, entries = state(tenant), log(tenant, in_tenant)

    response = signed_in(tenant, owner).post("/settings/subdomain/", {"subdomain": "Acme-Rockets"})

    assert response.status_code == 200
    page = response.content.decode()
    assert "You're about to move Acme Inc from acme.localhost to acme-rockets.localhost" in page
    assert "Everyone is signed out of acme.localhost" in page
    assert '<input type="hidden" name="subdomain" value="acme-rockets">' in page
    assert '<input type="hidden" name="confirmed" value="1">' in page
    assert state(tenant) == before
    assert log(tenant, in_tenant) == entries
    assert Domain.objects.get(domain="acme.localhost").is_primary


def test_an_owner_moves_the_workspace_and_the_old_address_redirects(
    tenant: Tenant, owner: User, in_tenant: Any
) -> None:
    response = signed_in(tenant, owner).post("/settings/subdomain/", {"subdomain": "acme-rockets", "confirmed": "1"})

    assert response.status_code == 200
    page = response.content.decode()
    assert "acme-rockets.localhost" in page
    assert "/login/?next=/settings/" in page
    old = Domain.objects.get(domain="acme.localhost")
    assert (old.is_primary, old.redirect_until is not None) == (False, True)
    assert Domain.objects.get(domain="acme-rockets.localhost").is_primary
    assert HostClient("acme.localhost").get("/settings/").status_code == 302
    assert log(tenant, in_tenant)[-1] == "tenant.subdomain_renamed"


def test_a_taken_subdomain_is_refused_with_free_suggestions_and_the_focus_on_the_field(
    tenant: Tenant, other_tenant: Tenant, owner: User
) -> None:
    taken = tenancy_selectors.primary_domain(other_tenant)
    assert taken is not None
    before = state(tenant)
    response = signed_in(tenant, owner).post("/settings/subdomain/", {"subdomain": taken.slug})

    assert response.status_code == 400
    page = response.content.decode()
    assert "is taken" in page
    assert f'data-value="{taken.slug}-team"' in page
    assert 'id="id_subdomain"' in page
    assert "autofocus" in page.split('id="id_subdomain"')[1].split(">")[0]
    assert state(tenant) == before


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("admin", "is reserved"),
        ("ab", "at least 3"),
        ("a" * 41, "at most 40"),
        ("a" * 5000, "at most 200 characters"),
        ("bad\x00slug", "Null characters are not allowed."),
        ("under_score", "Use only lower-case letters"),
        ("-edge", "cannot start or end with a hyphen"),
        ("acme", "already at acme.localhost"),
    ],
)
def test_bad_subdomains_are_refused_clearly(tenant: Tenant, owner: User, slug: str, message: str) -> None:
    before = state(tenant)
    response = signed_in(tenant, owner).post("/settings/subdomain/", {"subdomain": slug})

    assert response.status_code == 400
    assert response.content.decode().count(message) == 1  # next to the field, once
    assert state(tenant) == before


# --- custom domains --------------------------------------------------------------------------------------------------


def test_an_owner_adds_checks_and_removes_a_custom_domain(
    tenant: Tenant, owner: User, in_tenant: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = signed_in(tenant, owner)

    assert client.post("/settings/domains/", {"domain": "Projects.Acme.example."}).status_code == 302
    page = client.get("/settings/domains/").content.decode()
    assert "projects.acme.example" in page
    assert "CNAME" in page
    assert "acme.localhost" in page  # the value of the record
    assert Domain.objects.get(domain="projects.acme.example").tenant_id == tenant.pk

    monkeypatch.setattr(tenancy_selectors, "_addresses", lambda host: {"127.0.0.1"} if "acme" in host else set())
    response = client.post("/settings/domains/check/", {"domain": "projects.acme.example"}, follow=True)
    assert "points here" in response.content.decode()
    monkeypatch.setattr(
        tenancy_selectors,
        "_addresses",
        lambda host: {"10.0.0.1"} if host == "x" else {"127.0.0.1"} if host == "acme.localhost" else set(),
    )
    response = client.post("/settings/domains/check/", {"domain": "projects.acme.example"}, follow=True)
    assert "does not point here yet" in response.content.decode()

    assert client.post("/settings/domains/remove/", {"domain": "projects.acme.example"}).status_code == 302
    assert not Domain.objects.filter(domain="projects.acme.example").exists()
    assert log(tenant, in_tenant)[-2:] == ["tenant.domain_added", "tenant.domain_removed"]


@pytest.mark.parametrize(
    ("domain", "message"),
    [
        ("localhost", "full domain name with a dot"),
        ("x.acme.localhost", "are subdomains"),
        ("http://evil.example.com/", "host name only"),
        ("evil\x00.example.com", "Null characters are not allowed."),
        ("a." * 200 + "com", "at most 300 characters"),
        ("10.0.0.1", "IP addresses"),
    ],
)
def test_bad_domains_are_refused_clearly(tenant: Tenant, owner: User, domain: str, message: str) -> None:
    before = state(tenant)
    response = signed_in(tenant, owner).post("/settings/domains/", {"domain": domain})

    assert response.status_code == 400
    assert message in response.content.decode()
    assert state(tenant) == before


def test_a_domain_of_another_workspace_can_be_neither_added_nor_removed_nor_checked(
    tenant: Tenant, other_tenant: Tenant, owner: User
) -> None:
    Domain.objects.create(domain="globex.example.com", tenant=other_tenant, is_primary=False)
    client = signed_in(tenant, owner)

    assert "already in use" in client.post("/settings/domains/", {"domain": "globex.example.com"}).content.decode()
    response = client.post("/settings/domains/remove/", {"domain": "globex.example.com"}, follow=True)
    assert "is not a domain of" in response.content.decode()
    response = client.post("/settings/domains/check/", {"domain": "globex.example.com"}, follow=True)
    assert "is not a domain of this workspace" in response.content.decode()
    assert Domain.objects.get(domain="globex.example.com").tenant_id == other_tenant.pk


@pytest.mark.parametrize("value", ["evil\x00.example.com", "x" * 10_000, "projects\u202e.acme.example", ""])
def test_removing_a_hostile_domain_is_a_form_error(tenant: Tenant, owner: User, value: str) -> None:
    Domain.objects.create(domain="projects.acme.example", tenant=tenant, is_primary=False)
    before = state(tenant)

    for path in ("/settings/domains/remove/", "/settings/domains/check/"):
        response = signed_in(tenant, owner).post(path, {"domain": value}, follow=True)
        assert response.status_code in (200, 400), path
        assert "flash--error" in response.content.decode(), path  # the refusal, on the domains page

    assert state(tenant) == before
    assert Domain.objects.filter(domain="projects.acme.example", tenant=tenant).exists()


# --- delete and leave ------------------------------------------------------------------------------------------------


def test_deleting_needs_the_subdomain_typed(tenant: Tenant, owner: User) -> None:
    before = state(tenant)
    response = signed_in(tenant, owner).post("/settings/delete/", {"confirm": "acme-typo"})

    assert response.status_code == 400
    assert "Type acme exactly" in response.content.decode()
    assert state(tenant) == before


def test_an_owner_schedules_deletion_and_sees_the_date_and_the_restore_window(
    tenant: Tenant, owner: User, in_tenant: Any
) -> None:
    client = signed_in(tenant, owner)
    assert "30 days" in client.get("/settings/delete/").content.decode()

    response = client.post("/settings/delete/", {"confirm": "ACME"})

    assert response.status_code == 302
    tenant.refresh_from_db()
    assert tenant.status == TenantStatus.SCHEDULED_DELETION
    assert tenant.deletion_scheduled_at is not None
    assert log(tenant, in_tenant)[-1] == "tenant.deletion_scheduled"
    gone = client.get("/")
    assert gone.status_code == 410
    assert date_format(tenant.deletion_scheduled_at, "DATE_FORMAT") in gone.content.decode()


def test_the_sole_owner_is_told_before_any_confirmation_that_they_cannot_leave(
    tenant: Tenant, owner: User, member: User
) -> None:
    page = signed_in(tenant, owner).get("/settings/leave/").content.decode()
    assert "only owner" in page
    assert "Make someone an owner" in page
    assert 'href="/settings/delete/"' in page
    assert 'action="/settings/leave/"' not in page  # no confirmation form to click through
    second = MembershipFactory.create(tenant=tenant, role=Role.OWNER).user
    page = signed_in(tenant, second).get("/settings/leave/").content.decode()
    assert 'action="/settings/leave/"' in page
    page = signed_in(tenant, member).get("/settings/leave/").content.decode()
    assert 'action="/settings/leave/"' in page
