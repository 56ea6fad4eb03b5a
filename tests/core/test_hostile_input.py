"""Hostile input gets a clear refusal, never a 500 and never a half-done change."""

from __future__ import annotations

from typing import Any

import pytest
from allauth.core import context

from shared_apps.accounts.adapter import AccountAdapter
from shared_apps.accounts.errors import AccountError
from shared_apps.accounts.models import Membership, Role, User
from shared_apps.accounts.services import user_profile_update
from shared_apps.core.text import has_control_characters
from shared_apps.storage.inspection import clean_name
from shared_apps.workspaces.services import WorkspaceLimitReached, workspace_create
from tenant_apps.audit.models import AuditEntry
from tenant_apps.projects.services import ProjectInvalid, project_create
from tenant_apps.workspace_settings.audit_views import _safe
from tenants.errors import TenantNameInvalid
from tenants.models import Domain, Tenant
from tests.factories import MembershipFactory

# Unicode format characters are control characters here too: bidi overrides and isolates reorder what is shown
# ("invoice\u202egnp.exe.png" reads "invoicegnp.exe.png" backwards: "invoice" then "png.exe"), zero-width ones
# hide in plain sight.
FORMAT_NAMES = [
    "invoice\u202egnp.exe.png",
    "Acme\u202a",
    "Acme\u202d",
    "\u2066Acme\u2069",
    "Ac\u200bme",
    "Ac\u200dme",
    "Acme\ufeff",
    "Acme\u200f",
    "Acme\u061c",
    "Acme\u2060",
    "Acme\U000e0041",
]
CONTROL_NAMES = [
    "Acme\r\nBcc: everyone@example.com",
    "Acme\x00",
    "Tab\there",
    "Line\u2028break",
    "Esc\x1b[31m",
    *FORMAT_NAMES,
]


@pytest.mark.usefixtures("tenant")
@pytest.mark.parametrize("name", CONTROL_NAMES)
def test_workspace_names_with_control_characters_are_refused_and_nothing_is_made(name: str) -> None:
    before = Tenant.objects.count()

    with pytest.raises(TenantNameInvalid, match="control characters"):
        workspace_create(slug="ctrl-chars", name=name, owner_email="ctrl@chars.test")

    assert Tenant.objects.count() == before
    assert not Domain.objects.filter(domain="ctrl-chars.localhost").exists()
    assert not User.objects.filter(email="ctrl@chars.test").exists()


@pytest.mark.parametrize("name", CONTROL_NAMES)
def test_profile_names_with_control_characters_are_refused(owner: User, name: str) -> None:
    before = owner.name

    with pytest.raises(AccountError, match="control characters"):
        user_profile_update(user=owner, name=name)

    owner.refresh_from_db()
    assert owner.name == before


@pytest.mark.parametrize("name", FORMAT_NAMES)
def test_format_characters_are_refused_in_project_names_and_stripped_from_file_names(
    tenant: Tenant, owner: User, in_tenant: Any, name: str
) -> None:

    with in_tenant(tenant), pytest.raises(ProjectInvalid, match="control characters"):
        project_create(name=name, acting_user=owner)
    cleaned = clean_name(name)
    assert not has_control_characters(cleaned)
    assert cleaned.replace(" ", "").isprintable()


FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # one emoji: three people joined by zero-width joiners
PERSIAN = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # "I want", with its zero-width non-joiner


@pytest.mark.parametrize("name", [f"Family trip {FAMILY}", PERSIAN])
def test_joiners_inside_emoji_and_scripts_that_need_them_are_text(name: str) -> None:
    assert not has_control_characters(name)


# --- workspaces per account ----------------------------------------------------------------------------------------


def test_an_account_owns_at_most_the_configured_number_of_workspaces(owner: User, settings: Any) -> None:

    settings.WORKSPACES_PER_OWNER_MAX = 2  # owner already owns acme
    workspace_create(slug="second-one", name="Second", owner_email=owner.email, acting_user=owner)
    before = Tenant.objects.count()

    with pytest.raises(WorkspaceLimitReached, match="You already own 2 workspaces"):
        workspace_create(slug="third-one", name="Third", owner_email=owner.email, acting_user=owner)

    assert Tenant.objects.count() == before
    assert not Domain.objects.filter(domain="third-one.localhost").exists()


def test_operators_and_the_command_line_are_not_capped(owner: User, settings: Any) -> None:
    settings.WORKSPACES_PER_OWNER_MAX = 1
    operator = User.objects.create_superuser(email="ops@atrium.test", password="operator-password-123")

    workspace_create(slug="by-cli", name="By CLI", owner_email=owner.email, acting_user=None)
    workspace_create(slug="by-operator", name="By operator", owner_email=owner.email, acting_user=operator)

    assert Domain.objects.filter(domain__in=["by-cli.localhost", "by-operator.localhost"]).count() == 2


# --- pages: bad input is refused with a message, and changes nothing --------------------------------------------------


def test_a_nul_byte_in_the_members_search_is_not_a_500(tenant_client: Any, owner: User) -> None:
    tenant_client.force_login(owner)

    response = tenant_client.get("/settings/members/?q=%00")
    searched = tenant_client.get("/settings/members/?q=own%00er")

    assert response.status_code == 200
    assert searched.status_code == 200
    assert owner.email.encode() in searched.content


@pytest.mark.parametrize("query", ["date_to=9999-12-31", "date_from=0001-01-01", "date_to=99999-01-01"])
def test_far_dates_in_the_audit_filter_get_a_message_not_a_500(tenant_client: Any, owner: User, query: str) -> None:
    tenant_client.force_login(owner)

    response = tenant_client.get(f"/settings/audit/?{query}")

    assert response.status_code == 200  # the page, with the message next to the field
    assert b"Choose a date" in response.content or b"Enter a valid date" in response.content


def test_an_export_with_a_bad_filter_exports_and_records_nothing(
    tenant: Tenant, tenant_client: Any, owner: User, in_tenant: Any
) -> None:

    tenant_client.force_login(owner)
    with in_tenant(tenant):
        before = AuditEntry.objects.count()

    response = tenant_client.get("/settings/audit/export.csv?date_to=9999-12-31")

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    with in_tenant(tenant):
        assert AuditEntry.objects.count() == before  # no "audit.exported" for an export that did not happen


def test_a_huge_return_query_still_lands_on_a_short_members_url(
    tenant: Tenant, tenant_client: Any, owner: User
) -> None:

    target = MembershipFactory.create(tenant=tenant, role=Role.MEMBER)
    tenant_client.force_login(owner)

    response = tenant_client.post(
        f"/settings/members/{target.pk}/role/",
        {"role": "admin", "return_query": "q=ann&page=2&" + "x=" + "A" * 20_000},
    )

    assert response.status_code == 302
    assert response["Location"] == "/settings/members/?q=ann&page=2"
    assert Membership.objects.get(pk=target.pk).role == Role.ADMIN


@pytest.mark.parametrize(
    ("cell", "quoted"),
    [
        ("=cmd|' /C calc'!A0", True),
        ("@SUM(A1)", True),
        ("ok;=1+1", True),
        ("a, +1", True),
        ("Mozilla/5.0 (X11; Linux x86_64)", False),
        ("alice@example.com", False),
    ],
)
def test_csv_cells_that_a_spreadsheet_could_run_are_quoted(cell: str, quoted: bool) -> None:

    assert _safe(cell) == ("'" + cell if quoted else cell)


# --- redirects after sign-in and sign-out stay on the host ----------------------------------------------------------


@pytest.mark.parametrize(
    ("next_url", "safe"),
    [
        ("/settings/", True),
        ("http://acme.localhost/settings/", True),
        ("http://globex.localhost/settings/", False),  # another workspace under the same ALLOWED_HOSTS pattern
        ("http://localhost/workspaces/", False),
        ("//evil.example/", False),
        ("https://evil.example/", False),
    ],
)
def test_next_urls_are_paths_on_the_current_host(rf: Any, next_url: str, safe: bool) -> None:

    request = rf.get("/login/", HTTP_HOST="acme.localhost")
    with context.request_context(request):
        assert AccountAdapter(request).is_safe_url(next_url) is safe


def test_logout_does_not_send_anyone_to_another_workspace(tenant_client: Any, owner: User) -> None:
    tenant_client.force_login(owner)

    response = tenant_client.post("/logout/?next=http://globex.localhost/", {"next": "http://globex.localhost/"})

    assert response.status_code == 302
    assert "globex" not in response["Location"]


def test_creating_workspaces_quickly_is_rate_limited_with_a_page_that_says_so(
    public_client: Any, owner: User, settings: Any
) -> None:
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "workspace_create": "2/10m/user,10/h/ip"}
    public_client.force_login(owner)

    made = [
        public_client.post("/signup/workspace/", {"name": f"Burst {i}", "subdomain": f"burst-{i}"}) for i in range(3)
    ]

    assert [r.status_code for r in made] == [302, 302, 429]
    assert b"Too many attempts" in made[2].content
    assert not Domain.objects.filter(domain="burst-2.localhost").exists()


def test_the_ownership_cap_is_a_message_on_the_signup_page(public_client: Any, owner: User, settings: Any) -> None:
    settings.WORKSPACES_PER_OWNER_MAX = 1
    public_client.force_login(owner)

    response = public_client.post("/signup/workspace/", {"name": "One more", "subdomain": "one-more"})

    assert response.status_code == 200
    assert b"You already own 1 workspace, the most one account can own." in response.content


# --- the client's address behind a proxy ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("proxies", "header", "forwarded", "expected"),
    [
        (0, None, "203.0.113.7", "127.0.0.1"),  # no proxy configured: a client-written header is ignored
        (1, None, "203.0.113.7", "203.0.113.7"),  # one proxy (the compose nginx) wrote the header
        (1, None, None, "127.0.0.1"),  # configured, but this request came without a proxy header
        (0, "CF-Connecting-IP", None, "198.51.100.2"),  # the edge's own header
    ],
)
def test_audit_entries_record_the_client_behind_the_configured_proxy(
    tenant: Tenant,
    tenant_client: Any,
    owner: User,
    in_tenant: Any,
    settings: Any,
    proxies: int,
    header: str | None,
    forwarded: str | None,
    expected: str,
) -> None:

    settings.ALLAUTH_TRUSTED_PROXY_COUNT = proxies
    settings.ALLAUTH_TRUSTED_CLIENT_IP_HEADER = header
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    if header:
        extra["HTTP_CF_CONNECTING_IP"] = "198.51.100.2"
    tenant_client.force_login(owner)

    tenant_client.post("/settings/profile/sessions/end-others/", **extra)

    with in_tenant(tenant):
        assert AuditEntry.objects.get(action="auth.sessions_ended").ip_address == expected


def test_free_text_keeps_line_breaks_and_right_to_left_marks_but_not_overrides(
    tenant: Tenant, owner: User, in_tenant: Any
) -> None:

    with in_tenant(tenant):
        hebrew = "\u05e9\u05dc\u05d5\u05dd"
        text = f"{hebrew}\u200f world\n\tindented \u2067{PERSIAN}\u2069"  # a mark, a line break, a tab, an isolate
        kept = project_create(name="RTL", description=text, acting_user=owner)
        with pytest.raises(ProjectInvalid, match="control characters"):
            project_create(name="Spoof", description="Approved \u202eby finance", acting_user=owner)
    assert "\u200f" in kept.description
