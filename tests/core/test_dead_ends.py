"""No dead ends: the suspension pages say why and link support (and billing, for owners, when billing suspended
the workspace); the 410 page gives the exact deletion date; `make run` ends its output with the addresses to open;
development email is one console line per message with the message in a file; the landing page's billing copy
quotes the plans."""

from __future__ import annotations

import io
from email import message_from_bytes
from pathlib import Path

import pytest
from django.core.mail import EmailMultiAlternatives
from django.test import override_settings
from django.utils.formats import date_format

from billing.plans import PLANS, TRIAL_PLAN, Resource
from shared_apps.accounts.models import User
from shared_apps.core.mail import SummaryEmailBackend
from shared_apps.operators.management.commands.serve import Command as ServeCommand
from shared_apps.workspaces import services
from tenants.models import Tenant, TenantStatus
from tests.conftest import HostClient, client_for
from tests.helpers import operator_create

pytestmark = pytest.mark.django_db


@override_settings(SUPPORT_EMAIL="help@atrium.test")
def test_the_suspended_page_gives_the_operators_reason_and_links_support(tenant: Tenant, owner: User) -> None:
    operator = operator_create("op@atrium.test", "tenants.change_tenant")
    services.workspace_suspend(tenant=tenant, acting_user=operator, reason="Unpaid invoice INV-42 since March")
    client = client_for(tenant)
    client.force_login(owner)

    response = client.get("/")

    page = response.content.decode()
    assert response.status_code == 403
    assert "Unpaid invoice INV-42 since March" in page
    assert 'href="mailto:help@atrium.test' in page
    tenant.refresh_from_db()
    assert tenant.status_reason == "Unpaid invoice INV-42 since March"
    services.workspace_resume(tenant=tenant, acting_user=operator, reason="paid")
    tenant.refresh_from_db()
    assert tenant.status_reason == ""  # a resumed workspace keeps no stale reason


@override_settings(SUPPORT_EMAIL="help@atrium.test")
def test_the_billing_suspended_page_sends_owners_to_billing_and_everyone_to_support(
    tenant: Tenant, owner: User, member: User
) -> None:
    Tenant.objects.filter(pk=tenant.pk).update(status=TenantStatus.BILLING_SUSPENDED)
    as_owner, as_member = client_for(tenant), client_for(tenant)
    as_owner.force_login(owner)
    as_member.force_login(member)

    owner_page = as_owner.get("/").content.decode()
    member_page = as_member.get("/").content.decode()

    assert 'href="/settings/billing/"' in owner_page
    assert 'href="/settings/billing/"' not in member_page
    assert "mailto:help@atrium.test" in owner_page
    assert "mailto:help@atrium.test" in member_page


def test_the_410_page_shows_the_exact_deletion_date(tenant: Tenant, owner: User) -> None:
    services.workspace_schedule_deletion(tenant=tenant, acting_user=owner)
    tenant.refresh_from_db()
    assert tenant.deletion_scheduled_at is not None

    response = HostClient("acme.localhost").get("/")

    assert response.status_code == 410
    page = response.content.decode()
    assert date_format(tenant.deletion_scheduled_at, "DATE_FORMAT") in page  # one date format per language
    assert tenant.deletion_scheduled_at.isoformat()[:10] in page  # the <time datetime=…>


def test_the_development_server_ends_its_start_up_with_the_addresses_to_open() -> None:
    command = ServeCommand(stdout=io.StringIO())
    command.addr = "127.0.0.1"  # type: ignore[attr-defined]

    command.on_bind(8000)

    out = command.stdout._out.getvalue()  # type: ignore[attr-defined]
    lines = [line for line in out.splitlines() if line.strip()]
    assert any(line.strip().startswith("Public site:  http://localhost") for line in lines)
    assert any("Demo:         http://demo.localhost" in line for line in lines)
    assert any("/admin/" in line for line in lines)
    assert "Starting development server at" not in out
    assert lines[-1] == "Quit with CONTROL-C."


def test_development_email_is_one_console_line_and_a_file(tmp_path: object) -> None:
    stream = io.StringIO()
    backend = SummaryEmailBackend(file_path=str(tmp_path), stream=stream)
    message = EmailMultiAlternatives(
        subject="Welcome to Demo",
        body="Hi,\n\n" + "A long welcome.\n" * 200 + "Open it: http://demo.localhost:8000/\n",
        to=["owner@demo.localhost"],
    )
    message.attach_alternative("<p>A long welcome.</p>", "text/html")

    assert backend.send_messages([message]) == 1

    out = stream.getvalue()
    assert out.count("\n") == 1
    assert "to owner@demo.localhost: Welcome to Demo · http://demo.localhost:8000/" in out
    files = list(tmp_path.iterdir())  # type: ignore[attr-defined]
    assert len(files) == 1
    parsed = message_from_bytes(files[0].read_bytes())
    assert parsed["Subject"] == "Welcome to Demo"
    assert str(files[0]) in out


def test_a_sign_in_code_is_on_the_console_line(tmp_path: Path) -> None:
    stream = io.StringIO()
    SummaryEmailBackend(file_path=str(tmp_path), stream=stream).send_messages(
        [EmailMultiAlternatives(subject="Your code", body="Your code:\n\n  K7QF-2M9X\n\nExpires soon.", to=["a@b.c"])]
    )
    assert "· code K7QF-2M9X" in stream.getvalue()


def test_the_landing_page_quotes_the_plans_for_billing(public_client: HostClient) -> None:
    page = public_client.get("/").content.decode()
    assert f"Free for up to {PLANS['free'].limits[Resource.SEATS].value} people" in page
    assert f"{PLANS[TRIAL_PLAN].trial_days}-day trial" in page
    assert 'href="/pricing/"' in page


def test_only_owners_see_why_a_workspace_was_suspended(tenant: Tenant, owner: User, member: User) -> None:
    """Members, other accounts and signed-out visitors get a neutral page: the operator's reason (said to owners only,
    as the admin's suspend form says) is not theirs to read."""
    operator = operator_create("op@atrium.test", "tenants.change_tenant")
    services.workspace_suspend(tenant=tenant, acting_user=operator, reason="Fraud review of card chargebacks")
    outsider = User.objects.create_user(email="outsider@example.com", password="outsider-passphrase-1")
    pages = {}
    for who, user in (("signed out", None), ("member", member), ("outsider", outsider), ("owner", owner)):
        client = client_for(tenant)
        if user is not None:
            client.force_login(user)
        for path in ("/", "/login/", "/projects/", "/api/v1/projects/"):
            response = client.get(path)
            assert response.status_code in (302, 401, 403), (who, path)
            pages[(who, path)] = response.content.decode()

    for (who, path), page in pages.items():
        if who != "owner":
            assert "chargebacks" not in page, (who, path)
    assert "chargebacks" in pages[("owner", "/")]
    assert "This workspace is suspended" in pages[("member", "/")]


def test_the_admins_suspend_form_says_who_reads_the_reason(tenant: Tenant) -> None:
    admin = HostClient("localhost")
    admin.force_login(operator_create("op@atrium.test", "tenants.view_tenant", "tenants.change_tenant"))

    form = admin.post("/admin/tenants/tenant/", {"action": "suspend_selected", "_selected_action": [str(tenant.pk)]})

    assert "shown to its owners only" in form.content.decode()
