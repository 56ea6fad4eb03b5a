"""Impersonation: an operator sees a workspace as one of its members, on the login handoff's browser-bound tickets.

Two clients play one browser: `root` holds the operator's admin session on the root domain, `ws` the cookies of the
workspace's host."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import timedelta
from typing import Any

import pytest
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.core import mail
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from shared_apps.accounts.models import LoginHandoff, User
from shared_apps.accounts.permissions import NotAllowed
from shared_apps.workspaces.impersonation import operator_may_impersonate
from shared_apps.workspaces.models import ImpersonationSession, OperatorLogEntry
from shared_apps.workspaces.operators import user_deactivate
from shared_apps.workspaces.tasks import impersonations_expire
from tenant_apps.audit.models import AuditEntry
from tenant_apps.projects.models import Project
from tenants.models import Tenant
from tests.conftest import HostClient, client_for
from tests.helpers import local, operator_create, reauthenticated, subprocess_env

IMPERSONATE = "workspaces.impersonate_member"
WRITES = "workspaces.impersonate_with_writes"


@pytest.fixture
def operator(db: None) -> User:
    return operator_create("ops@atrium.test", "tenants.view_tenant", IMPERSONATE, WRITES)


@pytest.fixture
def root(public_client: HostClient, operator: User) -> HostClient:
    public_client.force_login(operator)
    reauthenticated(public_client, operator)
    return public_client


@pytest.fixture
def ws(tenant: Tenant) -> HostClient:
    return client_for(tenant)


def begin(root: Client, tenant: Tenant, member: User, reason: str = "Ticket #123: the board looks empty") -> Any:
    return root.post(f"/admin/workspaces/{tenant.pk}/impersonate/{member.pk}/", {"reason": reason})


def ticket_for(root: Client, ws: Client, tenant: Tenant, member: User, **kw: Any) -> str:
    """Steps 1 and 2 as a browser walks them: the admin, the workspace host (binding cookie), the admin (ticket)."""
    started = begin(root, tenant, member, **kw)
    assert started.status_code == 302, started.content[:500]
    assert "/auth/impersonate/start/?session=" in started["Location"]
    bound = ws.get(local(started["Location"]))
    assert bound.status_code == 302, bound.content[:300]
    minted = root.get(local(bound["Location"]))
    assert minted.status_code == 302, minted.content[:500]
    assert "/auth/impersonate/?token=" in minted["Location"]
    return str(minted["Location"])


def impersonate(root: Client, ws: Client, tenant: Tenant, member: User, **kw: Any) -> ImpersonationSession:
    arrived = ws.get(local(ticket_for(root, ws, tenant, member, **kw)))
    assert arrived.status_code == 302, arrived.content[:500]
    assert arrived["Location"] == "/"
    return ImpersonationSession.objects.get(member=member, ended_at__isnull=True)


def _admin_page(tenant: Tenant) -> str:
    return f"http://localhost/admin/tenants/tenant/{tenant.pk}/change/"


# --- the session itself ----------------------------------------------------------------------------------------------


def test_the_operator_sees_the_workspace_as_the_member_under_a_banner(
    root: Client, ws: Client, tenant: Tenant, member: User, owner: User
) -> None:
    impersonate(root, ws, tenant, member)

    home = ws.get("/")
    projects = ws.get("/projects/")

    for page in (home, projects):
        text = page.content.decode()
        assert page.status_code == 200
        assert "Atrium staff view." in text
        assert "ops@atrium.test is signed in to Acme Inc as <strong>member@acme.test</strong>" in text
        assert "End impersonation" in text
        assert "read-only" in text
        # the page goes back to the admin when time is up: a script counts down and reloads (a meta refresh is a
        # timed change the reader cannot stop: axe's critical `meta-refresh`)
        assert 'http-equiv="refresh"' not in text
        assert re.search(r'data-impersonation-seconds="(1[6-9]|[2-9])\d\d"', text), "no countdown to the end"
        assert "/static/js/impersonation.js" in text
    assert home.wsgi_request.user == member


def test_start_and_end_are_in_the_operator_log_and_the_audit_log_and_owners_are_told(
    root: Client,
    ws: Client,
    operator: User,
    tenant: Tenant,
    member: User,
    owner: User,
    in_tenant: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        impersonate(root, ws, tenant, member, reason="Ticket #123: the board looks empty")
    ended = ws.post("/impersonation/end/")

    assert ended.status_code == 302
    assert ended["Location"] == _admin_page(tenant)
    assert ws.get("/").status_code == 302  # this host's session is gone: signed out
    log = list(OperatorLogEntry.objects.order_by("created_at", "id").values_list("action", "operator_id", "reason"))
    assert log == [
        ("impersonation.started", operator.pk, "Ticket #123: the board looks empty"),
        ("impersonation.ended", operator.pk, "Ended by the operator"),
    ]
    with in_tenant(tenant):
        entries = list(AuditEntry.objects.filter(action__startswith="impersonation.").order_by("created_at", "id"))
    assert [(e.action, e.actor_id, e.target_id) for e in entries] == [
        ("impersonation.started", operator.pk, str(member.pk)),
        ("impersonation.ended", operator.pk, str(member.pk)),
    ]
    assert entries[0].metadata["reason"] == "Ticket #123: the board looks empty"
    (email,) = [m for m in mail.outbox if "Atrium staff signed in" in m.subject]
    assert email.to == ["owner@acme.test"]
    assert "ops@atrium.test" in email.body
    assert "member@acme.test" in email.body
    assert "Ticket #123: the board looks empty" in email.body


def test_owners_are_not_emailed_when_the_setting_is_off(
    root: Client,
    ws: Client,
    tenant: Tenant,
    member: User,
    owner: User,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.IMPERSONATION_NOTIFY_OWNERS = False

    with django_capture_on_commit_callbacks(execute=True):
        impersonate(root, ws, tenant, member)

    assert not [m for m in mail.outbox if "Atrium staff signed in" in m.subject]


def test_the_members_last_login_and_sessions_are_untouched(
    root: Client, ws: Client, tenant: Tenant, member: User, in_tenant: Any
) -> None:

    before = User.objects.get(pk=member.pk).last_login

    impersonate(root, ws, tenant, member)
    ws.get("/")

    assert User.objects.get(pk=member.pk).last_login == before
    assert not UserSession.objects.filter(user=member).exists()
    with in_tenant(tenant):
        assert not AuditEntry.objects.filter(action__in=["auth.login", "auth.handoff"]).exists()


# --- read-only, and the step-up ---------------------------------------------------------------------------------------


def test_writes_are_refused_until_the_operator_steps_up(root: Client, ws: Client, tenant: Tenant, member: User) -> None:
    impersonate(root, ws, tenant, member)

    refused = ws.post("/projects/new/", {"name": "Written by staff", "visibility": "workspace"})
    htmx = ws.post("/projects/new/", {"name": "Written by staff"}, HTTP_HX_REQUEST="true")

    assert refused.status_code == 403
    assert "Read-only: nothing was changed" in refused.content.decode()
    assert "Atrium staff view." in refused.content.decode()  # the banner is on the refusal too
    assert htmx.status_code == 403
    assert htmx["HX-Refresh"] == "true"
    with tenant_schema(tenant):
        assert not Project.objects.filter(name="Written by staff").exists()


def tenant_schema(tenant: Tenant) -> Any:

    return tenant_context(tenant)


def test_after_the_step_up_changes_are_recorded_as_the_operator_acting_as_the_member(
    root: Client, ws: Client, operator: User, tenant: Tenant, member: User, in_tenant: Any
) -> None:
    session = impersonate(root, ws, tenant, member)

    form = root.get(f"/admin/workspaces/impersonation/{session.pk}/writes/?next=/projects/new/")
    stepped = root.post(
        f"/admin/workspaces/impersonation/{session.pk}/writes/",
        {"reason": "Customer asked us to create it", "next": "/projects/new/"},
    )
    created = ws.post("/projects/new/", {"name": "Made for the customer", "visibility": "workspace"})

    assert form.status_code == 200
    assert stepped.status_code == 302
    assert stepped["Location"] == "http://acme.localhost/projects/new/"
    assert created.status_code == 302
    assert "changes allowed" in ws.get("/").content.decode()
    with in_tenant(tenant):
        assert Project.objects.filter(name="Made for the customer").exists()
        entry = AuditEntry.objects.get(action="project.created")
        step = AuditEntry.objects.get(action="impersonation.writes_enabled")
    assert entry.actor_id == member.pk
    assert entry.actor_label == "ops@atrium.test as member@acme.test"
    assert entry.metadata["impersonator"] == "ops@atrium.test"
    assert (step.actor_id, step.metadata["reason"]) == (operator.pk, "Customer asked us to create it")
    assert OperatorLogEntry.objects.filter(action="impersonation.writes_enabled", operator=operator).exists()


def test_the_step_up_needs_its_own_permission(
    public_client: HostClient, ws: Client, tenant: Tenant, member: User
) -> None:
    reader = operator_create("reader@atrium.test", "tenants.view_tenant", IMPERSONATE)
    public_client.force_login(reader)
    reauthenticated(public_client, reader)
    session = impersonate(public_client, ws, tenant, member)

    refused = public_client.post(f"/admin/workspaces/impersonation/{session.pk}/writes/", {"reason": "Please"})

    assert refused.status_code == 403
    assert ImpersonationSession.objects.get(pk=session.pk).writes_enabled_at is None


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/settings/profile/"),
        ("get", "/accounts/email/"),
        ("get", "/accounts/password/change/"),
        ("get", "/accounts/2fa/"),
        ("get", "/accounts/2fa/totp/deactivate/"),
        ("get", "/accounts/sessions/"),
        ("post", "/settings/profile/sessions/end-others/"),
        ("post", "/logout/everywhere/"),
        ("get", "/settings/api-keys/"),
        ("get", "/invitations/some-token/"),
        ("get", "/login/"),
    ],
)
def test_the_members_account_pages_are_out_of_reach(
    root: Client, ws: Client, tenant: Tenant, member: User, method: str, path: str
) -> None:
    session = impersonate(root, ws, tenant, member)
    root.post(f"/admin/workspaces/impersonation/{session.pk}/writes/", {"reason": "Even with changes allowed"})

    response = getattr(ws, method)(path)

    assert response.status_code == 403
    assert "Not available while signed in as a member" in response.content.decode()


# --- who, and who not -------------------------------------------------------------------------------------------------


def test_staff_accounts_are_never_impersonated(root: Client, tenant: Tenant, member: User) -> None:
    User.objects.filter(pk=member.pk).update(is_staff=True)

    form = root.get(f"/admin/workspaces/{tenant.pk}/impersonate/{member.pk}/")
    posted = begin(root, tenant, member)

    assert "operators are never impersonated" in form.content.decode()
    assert posted.status_code == 400
    assert not ImpersonationSession.objects.exists()


def test_a_member_who_becomes_staff_mid_session_ends_it(root: Client, ws: Client, tenant: Tenant, member: User) -> None:
    impersonate(root, ws, tenant, member)
    User.objects.filter(pk=member.pk).update(is_superuser=True)

    response = ws.get("/")

    assert response.status_code == 302
    assert response["Location"] == _admin_page(tenant)
    assert ImpersonationSession.objects.get(member=member).end_reason == "invalid"


def test_only_members_of_the_workspace_can_be_impersonated(root: Client, tenant: Tenant, outsider: User) -> None:
    page = root.get(f"/admin/workspaces/{tenant.pk}/impersonate/{outsider.pk}/")

    assert "is not a member of Acme Inc" in page.content.decode()


def test_the_operator_needs_the_permission(public_client: HostClient, tenant: Tenant, member: User) -> None:
    viewer = operator_create("viewer@atrium.test", "tenants.view_tenant")
    public_client.force_login(viewer)
    reauthenticated(public_client, viewer)

    page = public_client.get(f"/admin/workspaces/{tenant.pk}/impersonate/{member.pk}/")
    posted = begin(public_client, tenant, member)
    detail = public_client.get(f"/admin/tenants/tenant/{tenant.pk}/change/")

    assert page.status_code == posted.status_code == 403
    assert "Sign in as…" not in detail.content.decode()
    assert not ImpersonationSession.objects.exists()


def test_the_operator_needs_two_factor_authentication(public_client: HostClient, tenant: Tenant, member: User) -> None:

    operator = operator_create("nomfa@atrium.test", "tenants.view_tenant", IMPERSONATE, mfa=False)
    public_client.force_login(operator)

    page = public_client.get(f"/admin/workspaces/{tenant.pk}/impersonate/{member.pk}/")

    assert page.status_code == 302
    assert page["Location"].startswith("/admin/login/")
    with pytest.raises(NotAllowed, match="two-factor"):
        operator_may_impersonate(operator)


def test_the_operator_must_have_reauthenticated_recently(
    public_client: HostClient, operator: User, tenant: Tenant, member: User
) -> None:
    public_client.force_login(operator)
    reauthenticated(public_client, operator, seconds_ago=settings.ACCOUNT_REAUTHENTICATION_TIMEOUT + 5)

    page = public_client.get(f"/admin/workspaces/{tenant.pk}/impersonate/{member.pk}/")
    posted = begin(public_client, tenant, member)

    assert page.status_code == 302
    assert "/accounts/reauthenticate/" in page["Location"]
    assert "next=" in page["Location"]
    assert posted.status_code == 302
    assert "/accounts/reauthenticate/" in posted["Location"]
    assert not ImpersonationSession.objects.exists()


def test_a_reason_is_required(root: Client, tenant: Tenant, member: User) -> None:
    posted = begin(root, tenant, member, reason="  ")

    assert posted.status_code == 400
    assert "Give a reason" in posted.content.decode()
    assert not ImpersonationSession.objects.exists()


# --- the ticket: single use, this browser, seconds --------------------------------------------------------------------


def test_the_ticket_works_once(root: Client, ws: Client, tenant: Tenant, member: User) -> None:
    url = ticket_for(root, ws, tenant, member)

    first = ws.get(local(url))
    replay = ws.get(local(url))

    assert first.status_code == 302
    assert replay.status_code == 403
    assert ImpersonationSession.objects.count() == 1


def test_the_ticket_signs_in_only_the_browser_that_asked_for_it(
    root: Client, ws: Client, tenant: Tenant, member: User
) -> None:
    url = ticket_for(root, ws, tenant, member)
    elsewhere = client_for(tenant)  # another browser: no binding cookie

    response = elsewhere.get(local(url))

    assert response.status_code == 403
    assert "different browser" in response.content.decode()
    assert elsewhere.get("/").status_code == 302
    assert ImpersonationSession.objects.get(member=member).started_at is None


def test_the_ticket_is_for_its_workspaces_host_only(
    root: Client, ws: Client, tenant: Tenant, other_tenant: Tenant, member: User
) -> None:
    url = ticket_for(root, ws, tenant, member)
    other = client_for(other_tenant)
    other.cookies = ws.cookies

    response = other.get(local(url))

    assert response.status_code == 403
    assert "another workspace" in response.content.decode()


def test_a_sign_in_ticket_is_not_an_impersonation_ticket_and_back(
    root: Client, ws: Client, tenant: Tenant, member: User
) -> None:
    url = ticket_for(root, ws, tenant, member)
    as_sign_in = ws.get(local(url).replace("/auth/impersonate/", "/auth/handoff/"))

    assert as_sign_in.status_code == 403
    assert ImpersonationSession.objects.get(member=member).started_at is None


def test_the_ticket_lives_at_most_60_seconds(root: Client, ws: Client, tenant: Tenant, member: User) -> None:
    url = ticket_for(root, ws, tenant, member)
    row = LoginHandoff.objects.get(purpose="impersonation")
    LoginHandoff.objects.filter(pk=row.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    response = ws.get(local(url))

    assert (row.expires_at - row.created_at).total_seconds() <= 60
    assert response.status_code == 403
    assert "expired" in response.content.decode()


def test_an_impersonation_mints_one_ticket(root: Client, ws: Client, tenant: Tenant, member: User) -> None:
    started = begin(root, tenant, member)
    bound = ws.get(local(started["Location"]))
    root.get(local(bound["Location"]))

    second = root.get(local(bound["Location"]))

    assert second.status_code == 403
    assert "already used" in second.content.decode()


@pytest.mark.parametrize(("name", "cap"), [("IMPERSONATION_TICKET_MAX_AGE", "60"), ("IMPERSONATION_MAX_MINUTES", "30")])
def test_the_limits_hold_whatever_the_environment_says(name: str, cap: str) -> None:
    code = f"import django; django.setup(); from django.conf import settings; print(settings.{name})"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=subprocess_env(**{name: "100000"}),
        capture_output=True,
        text=True,
        check=True,
        cwd=settings.BASE_DIR,
        timeout=60,
    )
    assert out.stdout.strip() == cap


# --- the end: by the operator, by time, from the admin, by signing out ------------------------------------------------


def test_a_session_lasts_at_most_30_minutes_then_returns_to_the_admin(
    root: Client, ws: Client, operator: User, tenant: Tenant, member: User, in_tenant: Any
) -> None:
    session = impersonate(root, ws, tenant, member)
    assert session.expires_at - session.created_at <= timedelta(minutes=30)
    ImpersonationSession.objects.filter(pk=session.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    response = ws.get("/projects/")

    assert response.status_code == 302
    assert response["Location"] == _admin_page(tenant)
    assert ImpersonationSession.objects.get(pk=session.pk).end_reason == "expired"
    assert OperatorLogEntry.objects.filter(action="impersonation.ended", reason="Time limit reached").exists()
    assert ws.get("/").status_code == 302


def test_the_beat_task_records_sessions_that_ran_out(
    root: Client, ws: Client, tenant: Tenant, member: User, in_tenant: Any
) -> None:

    session = impersonate(root, ws, tenant, member)
    ImpersonationSession.objects.filter(pk=session.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert impersonations_expire.delay().get() == 1
    with in_tenant(tenant):
        assert AuditEntry.objects.filter(action="impersonation.ended").count() == 1


def test_signing_out_ends_it(root: Client, ws: Client, tenant: Tenant, member: User) -> None:
    impersonate(root, ws, tenant, member)

    response = ws.post("/logout/")

    assert response["Location"] == _admin_page(tenant)
    assert ImpersonationSession.objects.get(member=member).end_reason == "ended"


def test_another_operator_ends_it_from_the_admin(
    root: Client, ws: Client, tenant: Tenant, member: User, public_client: HostClient
) -> None:
    session = impersonate(root, ws, tenant, member)
    chief = operator_create("chief@atrium.test", "tenants.view_tenant", IMPERSONATE)
    other = HostClient("localhost")
    other.force_login(chief)

    other.post(f"/admin/workspaces/impersonation/{session.pk}/end/")

    assert ImpersonationSession.objects.get(pk=session.pk).end_reason == "revoked"
    assert ws.get("/")["Location"] == _admin_page(tenant)
    assert OperatorLogEntry.objects.filter(action="impersonation.ended", operator=chief).exists()


def test_deactivating_the_member_ends_it(root: Client, ws: Client, tenant: Tenant, member: User) -> None:

    impersonate(root, ws, tenant, member)
    user_deactivate(user=member, acting_user=operator_create("hr@atrium.test", "accounts.change_user"), reason="Left")

    assert ImpersonationSession.objects.get(member=member).end_reason == "invalid"
    assert ws.get("/").status_code == 302


def test_the_workspace_page_lists_running_impersonations(
    root: Client, ws: Client, tenant: Tenant, member: User
) -> None:
    impersonate(root, ws, tenant, member)

    text = root.get(f"/admin/tenants/tenant/{tenant.pk}/change/").content.decode()

    assert "running" in text
    assert "End now" in text
