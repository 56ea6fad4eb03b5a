"""The daily run: "due tomorrow" reminders and the daily digest, at 08:00 in each person's time zone, at most one
digest email a day however often the beat runs; the digest's one-click unsubscribe; the hourly sweep."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse

from shared_apps.accounts.models import Role, User
from tenant_apps.notifications import services
from tenant_apps.notifications.daily import _local_days, daily_run, daily_sweep
from tenant_apps.notifications.emails import DIGEST, unsubscribe_token
from tenant_apps.notifications.models import (
    DailyRun,
    Delivery,
    Notification,
    NotificationKind,
    NotificationPreference,
)
from tenant_apps.projects.models import Visibility
from tests.conftest import client_for
from tests.factories import MembershipFactory, ProjectFactory, TaskFactory

pytestmark = pytest.mark.django_db

# 07:30 UTC on a Monday: 08:30 in Paris (past its 08:00), 23:30 the day before in Los Angeles (not yet).
NOW = dt.datetime(2031, 3, 3, 7, 30, tzinfo=dt.UTC)


@pytest.fixture
def ann(tenant: Any) -> User:
    return MembershipFactory.create(
        tenant=tenant, role=Role.MEMBER, user__email="ann@acme.test", user__name="Ann Lee"
    ).user


@pytest.fixture
def lee(tenant: Any) -> User:
    return MembershipFactory.create(
        tenant=tenant, role=Role.MEMBER, user__email="lee@acme.test", user__name="Lee Ford"
    ).user


def _run(in_tenant: Any, tenant: Any, capture: Any, now: dt.datetime = NOW) -> int:
    with in_tenant(tenant), capture(execute=True):
        return daily_run(now=now)


def test_due_tomorrow_reminds_the_assignee_once_at_eight_in_their_time_zone(
    tenant, in_tenant, ann, lee, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    with in_tenant(tenant):
        User.objects.filter(pk=ann.pk).update(time_zone="Europe/Paris")  # the account's zone, set on the profile
        User.objects.filter(pk=lee.pk).update(time_zone="America/New_York")
        project = ProjectFactory.create(visibility=Visibility.WORKSPACE)
        march_4 = dt.date(2031, 3, 4)
        TaskFactory.create(project=project, title="Send the quote", assignee=ann, due_date=march_4)
        TaskFactory.create(project=project, title="Already done", assignee=ann, due_date=march_4, status="done")
        TaskFactory.create(project=project, title="Next week", assignee=ann, due_date=dt.date(2031, 3, 10))
        TaskFactory.create(project=project, title="Book the room", assignee=lee, due_date=march_4)

    def reminders() -> list[tuple[int, str]]:
        with in_tenant(tenant):
            found = Notification.objects.filter(kind=NotificationKind.DUE_TOMORROW).order_by("id")
            return list(found.values_list("recipient_id", "subject"))

    # 07:30 UTC: 08:30 in Paris, 02:30 in New York — Ann's run only
    assert _run(in_tenant, tenant, django_capture_on_commit_callbacks) == 1
    assert reminders() == [(ann.pk, "Send the quote")]
    assert [m.to for m in mailoutbox] == [["ann@acme.test"]]
    assert "“Send the quote” is due tomorrow" in mailoutbox[0].subject
    assert mailoutbox[0].extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # the beat again within the hour: nothing new
    assert _run(in_tenant, tenant, django_capture_on_commit_callbacks, NOW + dt.timedelta(minutes=40)) == 0
    # 13:30 UTC is 08:30 in New York: Lee's run; later that day, nobody's
    assert _run(in_tenant, tenant, django_capture_on_commit_callbacks, NOW + dt.timedelta(hours=6)) == 1
    assert _run(in_tenant, tenant, django_capture_on_commit_callbacks, NOW + dt.timedelta(hours=10)) == 0
    assert reminders() == [(ann.pk, "Send the quote"), (lee.pk, "Book the room")]
    assert [m.to for m in mailoutbox] == [["ann@acme.test"], ["lee@acme.test"]]


def test_the_digest_is_one_email_a_day_of_what_the_person_asked_to_hear_daily(
    tenant, in_tenant, owner, ann, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    with in_tenant(tenant):
        services.preferences_set(
            acting_user=ann, choices={NotificationKind.MENTIONED: Delivery.DIGEST, NotificationKind.COMMENTED: "off"}
        )
        assert User.objects.get(pk=ann.pk).time_zone == ""  # not set: UTC
        for i, kind in enumerate([NotificationKind.MENTIONED, NotificationKind.MENTIONED, NotificationKind.COMMENTED]):
            Notification.objects.create(
                recipient_id=ann.pk,
                kind=kind,
                event_id=f"evt_digest_{i}",
                actor_name="Olive Owner",
                subject=f"Task {i}",
                excerpt=f"@ann look at {i}",
                created_at=NOW - dt.timedelta(hours=i + 1),
            )

    # 07:30 UTC: not yet 08:00 for Ann (nor the owner); 08:05: their runs, and a digest for Ann only
    assert _run(in_tenant, tenant, django_capture_on_commit_callbacks) == 0
    assert mailoutbox == []
    assert _run(in_tenant, tenant, django_capture_on_commit_callbacks, NOW + dt.timedelta(minutes=35)) == 2

    assert len(mailoutbox) == 1
    digest = mailoutbox[0]
    assert digest.to == ["ann@acme.test"]
    assert "your daily digest (2 new)" in digest.subject
    assert "Olive Owner mentioned you on “Task 0”" in digest.body
    assert "Task 1" in digest.body
    assert "Task 2" not in digest.body  # comments are off for Ann
    assert "/notifications/unsubscribe/" in digest.extra_headers["List-Unsubscribe"]

    # the beat runs every hour: still one email today
    for hours in (1, 2, 10):
        _run(in_tenant, tenant, django_capture_on_commit_callbacks, NOW + dt.timedelta(hours=hours))
    assert len(mailoutbox) == 1
    with in_tenant(tenant):
        assert list(DailyRun.objects.filter(user_id=ann.pk).values_list("day", "digest_count")) == [
            (dt.date(2031, 3, 3), 2)
        ]


def test_the_digests_one_click_unsubscribe_turns_every_daily_kind_off(tenant, in_tenant, ann) -> None:
    with in_tenant(tenant):
        services.preferences_set(
            acting_user=ann,
            choices={NotificationKind.MENTIONED: Delivery.DIGEST, NotificationKind.ASSIGNED: Delivery.IMMEDIATELY},
        )
    token = unsubscribe_token(schema=tenant.schema_name, user_id=ann.pk, kind=DIGEST)

    page = client_for(tenant).get(reverse("notification_unsubscribe", args=[token]))
    assert "The daily digest" in page.content.decode()
    assert client_for(tenant).post(reverse("notification_unsubscribe", args=[token])).status_code == 200

    with in_tenant(tenant):
        chosen = dict(NotificationPreference.objects.filter(user_id=ann.pk).values_list("kind", "email"))
    assert chosen == {NotificationKind.MENTIONED: Delivery.OFF, NotificationKind.ASSIGNED: Delivery.IMMEDIATELY}


def test_the_preferences_page_names_the_profiles_time_zone_and_sets_none(tenant, in_tenant, ann) -> None:
    # given: Ann's account is in Paris
    User.objects.filter(pk=ann.pk).update(time_zone="Europe/Paris")
    client = client_for(tenant)
    client.force_login(ann)
    url = reverse("notification_preferences")

    # then: the page says which zone the daily email follows and where it is set, with no zone field of its own
    page = client.get(url).content.decode()
    assert "Europe/Paris" in page
    assert reverse("settings_profile") in page
    assert 'name="time_zone"' not in page

    # when: a zone is posted anyway, it changes nothing; the kinds are saved
    client.post(url, {"time_zone": "Asia/Tokyo", NotificationKind.MENTIONED: Delivery.DIGEST})
    assert User.objects.get(pk=ann.pk).time_zone == "Europe/Paris"
    with in_tenant(tenant):
        assert NotificationPreference.objects.get(user_id=ann.pk, kind="mentioned").email == Delivery.DIGEST


def test_the_daily_run_reads_everyones_time_zone_in_one_query(
    tenant, in_tenant, ann, lee, django_assert_num_queries
) -> None:
    User.objects.filter(pk=ann.pk).update(time_zone="Europe/Paris")
    User.objects.filter(pk=lee.pk).update(time_zone="Not/AZone")  # unknown: UTC
    others = [MembershipFactory.create(tenant=tenant).user for _ in range(5)]
    with in_tenant(tenant), django_assert_num_queries(1):
        days = _local_days([ann.pk, lee.pk, *(u.pk for u in others)], NOW)
    # 07:30 UTC: 08:30 in Paris; not yet 08:00 in UTC
    assert days == {ann.pk: dt.date(2031, 3, 3)}


def test_the_hourly_sweep_runs_only_workspaces_with_something_to_send(
    tenant, other_tenant, in_tenant, ann, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    at = NOW + dt.timedelta(hours=1)  # 08:30 UTC, Ann's time zone
    with in_tenant(tenant):
        project = ProjectFactory.create(visibility=Visibility.WORKSPACE)
        TaskFactory.create(project=project, title="Due soon", assignee=ann, due_date=dt.date(2031, 3, 4))
    with in_tenant(other_tenant):
        assert not DailyRun.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        enqueued = daily_sweep(now=at)

    assert enqueued >= 1  # acme (other workspaces of the test database may have due tasks of their own)
    with in_tenant(tenant):
        assert list(Notification.objects.filter(recipient_id=ann.pk).values_list("kind", "subject")) == [
            (NotificationKind.DUE_TOMORROW, "Due soon")
        ]
    with in_tenant(other_tenant):
        assert not DailyRun.objects.exists()  # globex has nothing due and nobody on a digest: not run
    assert [m.to for m in mailoutbox] == [["ann@acme.test"]]
