"""The daily run of one workspace: at DAILY_HOUR in each person's time zone (or at the first beat after it), the
"due tomorrow" reminders for their open tasks due on their tomorrow, then one digest email of what they asked to hear
of daily. A person is claimed for their local day by one INSERT … ON CONFLICT DO NOTHING RETURNING on `DailyRun`'s
unique (person, day): however often the beat runs, or a worker runs a task twice, each person gets at most one
digest a day, and each reminder is one notification (`(recipient, event_id)` is unique).

A fixed number of queries for the claim, the reminders' tasks and the digests' notifications, whatever the number of
people; the visibility check runs per reminder, as the stream's notifications do.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict

from django.db import connection as django_connection
from django.db import transaction
from django.utils import timezone

from shared_apps.accounts.models import Membership, User
from shared_apps.accounts.preferences import zone_of
from shared_apps.core.transactions import enqueue_on_commit
from tenant_apps.audit.models import Event
from tenant_apps.notifications.emails import digest_email_send, notification_emails_send
from tenant_apps.notifications.models import (
    DailyRun,
    Delivery,
    Notification,
    NotificationKind,
    NotificationPreference,
)
from tenant_apps.notifications.services import _visible, _Wanted, bell_announce, preferences_of, wants_email
from tenant_apps.projects.models import Task, TaskStatus
from tenant_apps.projects.permissions import current_workspace_id
from tenants.cross_schema import dangerously_all_tenants, workspace_schemas
from tenants.db import connection, table_sql

logger = logging.getLogger(__name__)

DAILY_HOUR = 8  # local time: the reminders and the digest go at 08:00 in each person's time zone
DIGEST_MAX = 50  # notifications listed in one digest at most (the rest: "and N more" with the link to the page)


def _local_days(user_ids: list[int], now: dt.datetime) -> dict[int, dt.date]:
    """Each person's local date, for those whose local time is past DAILY_HOUR. Their zone is the one of their
    account (`User.time_zone`, set on the profile; blank: UTC), read for everyone in one query."""
    zones = dict(User.objects.filter(pk__in=user_ids).values_list("pk", "time_zone"))
    days = {}
    for user_id in user_ids:
        local = now.astimezone(zone_of(zones.get(user_id, "")))
        if local.hour >= DAILY_HOUR:
            days[user_id] = local.date()
    return days


def _claim(days: dict[int, dt.date]) -> dict[int, dt.date]:
    """Claim each person's local day; returns those claimed now (the others ran already today). One statement."""
    if not days:
        return {}
    rows = ", ".join(["(%s, %s, now(), 0)"] * len(days))
    params = [value for user_id, day in days.items() for value in (user_id, day)]
    with django_connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table_sql(DailyRun)} (user_id, day, ran_at, digest_count) VALUES {rows} "  # noqa: S608
            "ON CONFLICT (user_id, day) DO NOTHING RETURNING user_id",
            params,
        )
        claimed = {int(row[0]) for row in cursor.fetchall()}
    return {user_id: day for user_id, day in days.items() if user_id in claimed}


def _reminders(claimed: dict[int, dt.date], members: dict[int, Membership], now: dt.datetime) -> list[Notification]:
    """Notifications for the claimed people's open tasks due on their local tomorrow (one query for the tasks)."""
    tomorrows = {user_id: day + dt.timedelta(days=1) for user_id, day in claimed.items()}
    tasks = (
        Task.objects.filter(assignee_id__in=list(tomorrows), due_date__in=set(tomorrows.values()))
        .exclude(status=TaskStatus.DONE)
        .only("id", "title", "project_id", "assignee_id", "due_date")
    )
    wanted = []
    for task in tasks:
        assert task.assignee_id is not None  # noqa: S101  (filtered above)
        if tomorrows[task.assignee_id] != task.due_date:
            continue  # due on someone else's tomorrow, not this person's
        event = Event(event_id=f"due:{task.pk}:{task.due_date:%Y%m%d}", occurred_at=now, actor_id=None)
        wanted.append(
            _Wanted(
                recipient_id=task.assignee_id,
                kind=NotificationKind.DUE_TOMORROW,
                event=event,
                subject=task.title,
                project_id=task.project_id,
                task_id=task.pk,
            )
        )
    rows = [
        Notification(
            recipient_id=w.recipient_id,
            kind=w.kind,
            event_id=w.event.event_id,
            actor_name="",
            subject=w.subject[:254],
            project_id=w.project_id,
            task_id=w.task_id,
            created_at=now,
        )
        for w in _visible(wanted, members)
    ]
    if rows:
        Notification.objects.bulk_create(rows, ignore_conflicts=True)
    return rows


def _digests(claimed: dict[int, dt.date], now: dt.datetime) -> dict[int, list[Notification]]:
    """Each claimed person's unread notifications of the kinds they hear of daily, from the last day (two queries)."""
    kinds: dict[int, set[str]] = defaultdict(set)
    for user_id, kind in NotificationPreference.objects.filter(
        user_id__in=list(claimed), email=Delivery.DIGEST
    ).values_list("user_id", "kind"):
        kinds[user_id].add(kind)
    if not kinds:
        return {}
    found: dict[int, list[Notification]] = defaultdict(list)
    since = now - dt.timedelta(days=1)
    for n in Notification.objects.filter(
        recipient_id__in=list(kinds), read_at__isnull=True, created_at__gte=since
    ).order_by("-created_at", "-id"):
        if n.kind in kinds[n.recipient_id]:
            found[n.recipient_id].append(n)
    return found


def daily_run(*, now: dt.datetime | None = None) -> int:
    """The current workspace's daily run (see the module). Returns how many people it claimed."""
    tenant_id = current_workspace_id()
    if tenant_id is None:
        return 0
    now = now or timezone.now()
    members = {
        m.user_id: m
        for m in Membership.objects.filter(tenant_id=tenant_id, user__is_active=True).select_related("user")
    }
    with transaction.atomic():
        claimed = _claim(_local_days(list(members), now))
        if not claimed:
            return 0
        reminders = _reminders(claimed, members, now)
        digests = _digests(claimed, now)
        for user_id, items in digests.items():
            DailyRun.objects.filter(user_id=user_id, day=claimed[user_id]).update(digest_count=len(items))
        schema = connection.schema_name
        if reminders:
            bell_announce(sorted({n.recipient_id for n in reminders}))
            preferences = preferences_of(reminders)
            at_once = [n for n in reminders if wants_email(n.recipient_id, n.kind, preferences)]
            if at_once:
                transaction.on_commit(lambda: notification_emails_send(schema=schema, notifications=at_once))
        if digests:
            batch = {user_id: items[:DIGEST_MAX] for user_id, items in digests.items()}
            totals = {user_id: len(items) for user_id, items in digests.items()}
            transaction.on_commit(lambda: digest_email_send(schema=schema, digests=batch, totals=totals))
    return len(claimed)


# Workspaces with something that may go today: an open, assigned task due within two days, or anyone on a digest.
_BUSY = (
    "SELECT 1 FROM {schema}.projects_task t WHERE t.assignee_id IS NOT NULL AND t.status <> 'done' "
    "AND t.due_date BETWEEN %s AND %s "
    "UNION ALL SELECT 1 FROM {schema}.notifications_notificationpreference p WHERE p.email = 'digest' LIMIT 1"
)


def daily_sweep(*, now: dt.datetime | None = None) -> int:
    """Across every workspace (the beat only, never a request; one statement per batch of schemas): enqueue the
    daily run of each one that may have something to send. Returns how many were enqueued."""
    from tenant_apps.notifications.tasks import daily_run as task  # noqa: PLC0415  (the task module imports this one)

    now = now or timezone.now()
    today = now.date()
    found = dangerously_all_tenants(
        _BUSY, params=[today - dt.timedelta(days=1), today + dt.timedelta(days=2)], label="daily notifications"
    )
    schemas = dict(workspace_schemas())
    busy = sorted({int(row[0]) for row in found.rows})
    for tenant_id in busy:
        enqueue_on_commit(task, schema_name=schemas[tenant_id], at=now.isoformat())
    return len(busy)
