"""The dashboard of a platform whose figures were never gathered (a fresh `make run`): the page answers at once,
saying the figures are being gathered, and asks for them (admin:metrics_gather) as it loads and every few seconds
after; the refresh runs as a task — in-process without a broker, queued once with one — and the page fills in."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from django.utils.formats import date_format

from shared_apps.accounts.models import User
from shared_apps.operators.dashboard import Period, dashboard_build
from shared_apps.operators.site import GATHER_KEY
from shared_apps.workspaces.models import PlatformDay, WorkspaceDay, WorkspaceMetrics
from tenants.models import Tenant
from tests.factories import MembershipFactory, UserFactory
from tests.helpers import operator_create

GATHER = "/admin/workspaces/metrics/gather/"
HTMX = {"HX-Request": "true"}


@pytest.fixture
def never_gathered(db: None) -> None:
    for model in (WorkspaceDay, PlatformDay, WorkspaceMetrics):
        model.objects.all().delete()
    cache.delete(GATHER_KEY)


@pytest.fixture
def viewer(public_client: Client) -> User:
    operator = operator_create("viewer@atrium.test", "tenants.view_tenant")
    public_client.force_login(operator)
    return operator


def test_the_first_view_answers_at_once_saying_the_figures_are_being_gathered(
    never_gathered: None, viewer: User, public_client: Client
) -> None:
    page = public_client.get("/admin/?range=7")
    text = page.content.decode()

    assert page.status_code == 200
    assert "Gathering figures…" in text
    assert f'hx-post="{GATHER}?range=7"' in text  # asks for them as it loads, for the same range
    assert 'hx-trigger="load, every 3s"' in text
    assert "htmx.min.js" in text
    assert "Workspace figures as of" not in text
    assert not PlatformDay.objects.exists()  # nothing was gathered in the request itself
    assert "after the first metrics refresh" in text  # activity unknown, not 0


def test_without_a_broker_the_gathering_runs_in_process_and_answers_with_the_figures(
    never_gathered: None, viewer: User, public_client: Client, tenant: Tenant
) -> None:
    answer = public_client.post(f"{GATHER}?range=7", headers=HTMX)
    text = answer.content.decode()

    assert answer.status_code == 200
    assert text.lstrip().startswith('<div id="ops-figures">')  # the fragment the page swaps in
    assert "Workspace figures as of" in text
    assert "Gathering figures" not in text
    assert "hx-post" not in text  # nothing more to ask for
    assert PlatformDay.objects.exists()
    assert WorkspaceMetrics.objects.filter(tenant=tenant).exists()


def test_with_a_broker_it_is_queued_once_and_answered_204_until_the_figures_are_there(
    never_gathered: None, viewer: User, public_client: Client, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False

    with django_capture_on_commit_callbacks(execute=False) as queued:
        first = public_client.post(GATHER, headers=HTMX)
        again = public_client.post(GATHER, headers=HTMX)  # another dashboard, or the same one three seconds later

    assert (first.status_code, again.status_code) == (204, 204)
    assert len(queued) == 1
    assert not PlatformDay.objects.exists()  # nothing ran in the requests themselves

    # when: the worker has gathered them
    PlatformDay.objects.create(
        day=timezone.now().date(), workspaces=2, members=3, database_bytes=1, refreshed_at=timezone.now()
    )
    ready = public_client.post(GATHER, headers=HTMX)

    assert ready.status_code == 200
    assert "Workspace figures as of" in ready.content.decode()


def test_once_gathered_asking_again_gathers_nothing_more(
    viewer: User, public_client: Client, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    cache.delete(GATHER_KEY)
    PlatformDay.objects.create(
        day=timezone.now().date(), workspaces=2, members=3, database_bytes=1, refreshed_at=timezone.now()
    )

    page = public_client.get("/admin/")
    with django_capture_on_commit_callbacks(execute=False) as queued:
        answer = public_client.post(GATHER, headers=HTMX)

    assert "Gathering figures" not in page.content.decode()
    assert "htmx.min.js" not in page.content.decode()
    assert answer.status_code == 200
    assert queued == []


def test_without_javascript_its_button_gathers_and_returns_to_the_dashboard(
    never_gathered: None, viewer: User, public_client: Client
) -> None:
    answer = public_client.post(f"{GATHER}?range=90")

    assert answer.status_code == 302
    assert answer["Location"] == "/admin/?range=90"
    assert PlatformDay.objects.exists()


def test_staff_without_the_view_permission_gather_nothing(never_gathered: None, public_client: Client) -> None:
    public_client.force_login(operator_create("nobody@atrium.test"))

    answer = public_client.post(GATHER, headers=HTMX)

    assert answer.status_code == 403
    assert not PlatformDay.objects.exists()


def test_asking_takes_a_post(never_gathered: None, viewer: User, public_client: Client) -> None:
    assert public_client.get(GATHER).status_code == 405
    assert not PlatformDay.objects.exists()


def test_a_workspace_host_has_no_such_page(never_gathered: None, tenant_client: Client, tenant: Tenant) -> None:
    operator = operator_create("viewer@atrium.test", "tenants.view_tenant")
    MembershipFactory.create(tenant=tenant, user=operator)  # even a member of the workspace
    tenant_client.force_login(operator)

    assert tenant_client.post(GATHER, headers=HTMX).status_code == 404
    assert not PlatformDay.objects.exists()


def test_asking_while_queued_costs_the_same_few_queries_however_many_accounts(
    never_gathered: None, viewer: User, public_client: Client, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    queued: list[Any] = []  # the queue itself is the broker's: without one (the embedded default) nothing may publish
    monkeypatch.setattr("shared_apps.operators.site.enqueue_on_commit", lambda task, **kwargs: queued.append(task))
    public_client.post(GATHER, headers=HTMX)  # queued (and the session warm)
    assert len(queued) == 1
    with CaptureQueriesContext(connection) as few:
        public_client.post(GATHER, headers=HTMX)
    UserFactory.create_batch(20)
    with CaptureQueriesContext(connection) as many:
        public_client.post(GATHER, headers=HTMX)

    # Flat; the ceiling counts the cache's own statements: the database cache (no REDIS_URL) reads and culls its table.
    ceiling = 8 if settings.REDIS_URL else 13
    assert len(few) == len(many) <= ceiling, [q["sql"] for q in many.captured_queries]
    assert len(queued) == 1  # queued once, however often it is asked


def test_the_charts_and_the_range_speak_the_readers_language(db: None) -> None:
    today = timezone.now().date()
    period = Period(today.replace(day=1) if today.day > 1 else today, today, "")

    with translation.override("de"):
        board = dashboard_build(period)
        shown = {"day": board.charts[0].buckets[-1].label, "range": period.label, "title": board.charts[0].title}
        expected = {
            "day": f"{today.day}. {date_format(today, 'M')}",
            "range": f"{date_format(period.start, 'j. M Y')} bis {date_format(today, 'j. M Y')}",
            "title": "Anmeldungen pro Tag",
        }

    assert shown == expected
    assert f">{expected['day']}</text>" in board.charts[0].svg  # the axis's last day
