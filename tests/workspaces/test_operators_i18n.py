"""The operators' console in the operator's language and time zone: the dashboard's figures, notes and reasons, the
workspaces list (filters, columns, search help, actions), a workspace's page (its dates in the locale's format, in the
operator's zone) and an action's message, all in German for an operator who chose German."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from billing.models import BillingAccount, SubscriptionStatus
from shared_apps.accounts.models import User
from shared_apps.workspaces.models import WorkspaceMetrics
from tenants.models import Tenant
from tests.helpers import operator_create

LIST = "/admin/tenants/tenant/"
# English the console showed before it was translated: none of it may remain on a German page.
ENGLISH = [
    "Sign-ups (new accounts)",
    "Active workspaces, 7 days",
    "Paying workspaces",
    "Trials in progress",
    "Churned MRR",
    "after the first metrics refresh",
    "no change",
    "trial ends in",
    "last activity",
    "Name, domain or owner",
    "Suspend selected workspaces",
    "Last activity",
    "not refreshed yet",
]


@pytest.fixture
def german_operator(db: None, public_client: Client) -> Client:
    operator: User = operator_create("ops@atrium.test", superuser=True)
    operator.language, operator.time_zone = "de", "Europe/Berlin"
    operator.save(update_fields=["language", "time_zone"])
    public_client.force_login(operator)
    return public_client


@pytest.fixture
def trialing(tenant: Tenant) -> Tenant:
    BillingAccount.objects.update_or_create(
        tenant=tenant,
        defaults={
            "status": SubscriptionStatus.TRIALING,
            "plan": "pro",
            "trial_end": timezone.now() + timedelta(days=2, hours=1),
        },
    )
    WorkspaceMetrics.objects.update_or_create(
        tenant=tenant,
        defaults={
            "members": 1,
            "last_activity_at": datetime(2026, 3, 5, 22, 30, tzinfo=UTC),
            "refreshed_at": datetime(2026, 3, 6, 8, 0, tzinfo=UTC),
        },
    )
    return tenant


def _no_english(text: str) -> list[str]:
    return [phrase for phrase in ENGLISH if phrase in text]


def test_the_dashboard_speaks_german(german_operator: Client, trialing: Tenant) -> None:
    text = german_operator.get("/admin/?range=30").content.decode()

    assert "Registrierungen (neue Konten)" in text
    assert "Aktive Workspaces, 7 Tage" in text
    assert "Wachstum" in text
    assert "Testphase endet in 2 Tagen" in text  # the workspace whose trial ends in 2 days
    assert _no_english(text) == []


def test_the_workspaces_list_and_page_speak_german_with_dates_in_the_operators_zone(
    german_operator: Client, trialing: Tenant
) -> None:
    listing = german_operator.get(LIST).content.decode()
    page = german_operator.get(f"{LIST}{trialing.pk}/change/").content.decode()

    assert "letzte Aktivität" in listing  # a filter's title
    assert "Name, Domain oder E-Mail des Eigentümers" in listing  # the search's help
    assert "Ausgewählte Workspaces sperren" in listing  # an action
    assert "Pro (Testphase)" in listing  # a column's value
    # 22:30 UTC on 5 March is 23:30 in Berlin, written the German way (DATETIME_FORMAT)
    assert "5. Mär 2026, 23:30" in listing
    assert "5. Mär 2026, 23:30" in page
    assert "2026-03-05" not in listing + page
    assert _no_english(listing + page) == []


def test_an_actions_message_speaks_german(german_operator: Client, tenant: Tenant, in_tenant: Any) -> None:
    asked = german_operator.post(LIST, {"action": "suspend_selected", "_selected_action": [str(tenant.pk)]})
    done = german_operator.post(
        LIST,
        {"action": "suspend_selected", "_selected_action": [str(tenant.pk)], "apply": "1", "reason": "Missbrauch"},
        follow=True,
    )

    assert "Workspaces sperren" in asked.content.decode()  # the form's title
    assert "1 Workspace gesperrt." in done.content.decode()
    assert "Suspended 1" not in done.content.decode()
