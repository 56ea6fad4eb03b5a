"""Making and reading notifications.

`notifications_create_for_events` is the `notifications` consumer of the workspace's event stream: it turns the
events that concern someone into one row per person and event, checks that the person is still a member who may see
the project (visibility is checked when an event reaches a person, not only when it was recorded), and announces
new unread counts on the live bus. Idempotent: an event handed out twice notifies once (a unique constraint).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from shared_apps.accounts.models import Membership, User
from shared_apps.core.live import publish
from tenant_apps.audit.events import EventType
from tenant_apps.audit.models import Event
from tenant_apps.notifications.emails import notification_emails_send
from tenant_apps.notifications.models import (
    Delivery,
    Notification,
    NotificationKind,
    NotificationPreference,
    TaskFollow,
)
from tenant_apps.projects.models import Comment, Project, Task
from tenant_apps.projects.permissions import ProjectPermission, Viewer, current_workspace_id, granted_codenames
from tenant_apps.projects.permissions import permissions_for as project_permissions_for
from tenants.db import connection

# "@ann", "@ann.lee", "@ann-lee": a member's handle (see `handles`).
MENTION = re.compile(r"(?<![\w.@])@([A-Za-z0-9][\w.\-]{0,63})")
EXCERPT = 200


def handles(user: User) -> set[str]:
    """What `@…` may say to mention `user`: the part of their address before the @, their first name, their whole
    name without spaces (any case)."""
    found = {user.email.split("@", 1)[0].lower()}
    name = (user.name or "").strip()
    if name:
        found.add(name.split()[0].lower())
        found.add("".join(name.split()).lower())
    return {h for h in found if h}


def mentioned_in(body: str) -> set[str]:
    return {token.lower().rstrip(".-") for token in MENTION.findall(body)}


@dataclass(frozen=True)
class _Wanted:
    recipient_id: int
    kind: NotificationKind
    event: Event
    subject: str
    excerpt: str = ""
    project_id: int | None = None
    task_id: int | None = None


def notifications_create_for_events(events: Sequence[Event]) -> None:
    """The consumer: notifications for `events` (a batch of the current workspace's stream)."""
    tenant_id = current_workspace_id()
    if tenant_id is None:
        return
    members = {
        m.user_id: m
        for m in Membership.objects.filter(tenant_id=tenant_id, user__is_active=True).select_related("user")
    }
    comment_tasks = {
        int(e.data["task"]) for e in events if e.type == EventType.COMMENT_CREATED and e.data.get("task") is not None
    }
    tasks = {t.pk: t for t in Task.objects.filter(pk__in=comment_tasks).only("id", "title", "project_id")}
    followers = task_followers(tasks.keys())
    wanted: list[_Wanted] = []
    for event in events:
        wanted.extend(_wanted_for(event, members=members, tasks=tasks, followers=followers))
    wanted = [w for w in wanted if w.recipient_id in members and w.recipient_id != w.event.actor_id]
    wanted = _visible(wanted, members)
    if not wanted:
        return
    already = set(
        Notification.objects.filter(
            event_id__in={w.event.event_id for w in wanted}, recipient_id__in={w.recipient_id for w in wanted}
        ).values_list("recipient_id", "event_id")
    )
    rows = [
        Notification(
            recipient_id=w.recipient_id,
            kind=w.kind,
            event_id=w.event.event_id,
            actor_id=w.event.actor_id,
            actor_name=_actor_name(w.event, members),
            subject=w.subject[:254],
            excerpt=w.excerpt[:280],
            project_id=w.project_id,
            task_id=w.task_id,
            created_at=w.event.occurred_at,
        )
        for w in _one_per_event(wanted)
        if (w.recipient_id, w.event.event_id) not in already  # handed out again: notified already
    ]
    if not rows:
        return
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    bell_announce(sorted({row.recipient_id for row in rows}))
    preferences = preferences_of(rows)
    emailed = [row for row in rows if wants_email(row.recipient_id, row.kind, preferences)]
    if emailed:
        schema = connection.schema_name
        transaction.on_commit(lambda: notification_emails_send(schema=schema, notifications=emailed))


def _actor_name(event: Event, members: dict[int, Membership]) -> str:
    member = members.get(event.actor_id) if event.actor_id is not None else None
    if member is not None:
        return member.user.get_full_name() or member.user.email
    return event.actor_label or "Someone"


def _wanted_for(
    event: Event, *, members: dict[int, Membership], tasks: dict[int, Task], followers: dict[int, set[int]]
) -> list[_Wanted]:
    data = event.data or {}
    if event.type in (EventType.TASK_CREATED, EventType.TASK_UPDATED):
        assignee = (data.get("assignee") or {}).get("id")
        newly = event.type == EventType.TASK_CREATED or "assignee" in (data.get("previous") or {})
        if assignee is None or not newly:
            return []
        return [
            _Wanted(
                recipient_id=int(assignee),
                kind=NotificationKind.ASSIGNED,
                event=event,
                subject=str(data.get("title", "")),
                project_id=event.project_id,
                task_id=data.get("id"),
            )
        ]
    if event.type == EventType.COMMENT_CREATED:
        task = tasks.get(int(data.get("task") or 0))
        if task is None:
            return []
        body = str(data.get("body", ""))
        said = mentioned_in(body)
        mentioned = {uid for uid, m in members.items() if said and handles(m.user) & said}

        def wanted(uid: int, kind: NotificationKind) -> _Wanted:
            return _Wanted(
                recipient_id=uid,
                kind=kind,
                event=event,
                subject=task.title,
                excerpt=body[:EXCERPT],
                project_id=task.project_id,
                task_id=task.pk,
            )

        out = [wanted(uid, NotificationKind.MENTIONED) for uid in sorted(mentioned)]
        out += [wanted(uid, NotificationKind.COMMENTED) for uid in sorted(followers.get(task.pk, set()) - mentioned)]
        return out
    if event.type == EventType.INVITATION_ACCEPTED:
        inviter = (data.get("invited_by") or {}).get("id")
        if inviter is None:
            return []
        return [
            _Wanted(
                recipient_id=int(inviter),
                kind=NotificationKind.INVITATION_ACCEPTED,
                event=event,
                subject=str(data.get("email", "")),
            )
        ]
    return []


def _one_per_event(wanted: list[_Wanted]) -> list[_Wanted]:
    """A person hears of one event once (mentioned wins over a followed task's comment)."""
    seen: set[tuple[int, str]] = set()
    out = []
    for w in wanted:
        key = (w.recipient_id, w.event.event_id)
        if key not in seen:
            seen.add(key)
            out.append(w)
    return out


def _visible(wanted: list[_Wanted], members: dict[int, Membership]) -> list[_Wanted]:
    """Keep what each recipient may see now: their project must be one they may view."""
    project_ids = {w.project_id for w in wanted if w.project_id is not None}
    projects = {p.pk: p for p in Project.objects.filter(pk__in=project_ids)}
    kept = []
    for w in wanted:
        if w.project_id is None:
            kept.append(w)
            continue
        project = projects.get(w.project_id)
        if project is None:
            continue
        member = members[w.recipient_id]
        viewer = Viewer(user=member.user, role=member.role)
        granted = set() if viewer.is_workspace_admin else granted_codenames(viewer, [project.pk]).get(project.pk, set())
        if ProjectPermission.VIEW in project_permissions_for(viewer, project, granted):
            kept.append(w)
    return kept


def task_followers(task_ids: Iterable[int]) -> dict[int, set[int]]:
    """Who follows each task: its creator, its assignee, everyone who commented on it and who follows it explicitly
    (three queries for any number of tasks)."""
    ids = list(task_ids)
    found: dict[int, set[int]] = {pk: set() for pk in ids}
    if not ids:
        return found
    for pk, creator, assignee in Task.objects.filter(pk__in=ids).values_list("id", "created_by_id", "assignee_id"):
        found[pk].update(uid for uid in (creator, assignee) if uid is not None)
    for task_id, author in Comment.objects.filter(task_id__in=ids).values_list("task_id", "author_id").distinct():
        if author is not None:
            found[task_id].add(author)
    for task_id, user_id in TaskFollow.objects.filter(task_id__in=ids).values_list("task_id", "user_id"):
        found[task_id].add(user_id)
    return found


def preferences_of(rows: Sequence[Notification]) -> dict[tuple[int, str], str]:
    """(person, kind) → how they want it emailed, for the people of `rows` (one query; no row: at once)."""
    people = {r.recipient_id for r in rows}
    return {(p.user_id, p.kind): p.email for p in NotificationPreference.objects.filter(user_id__in=people)}


def wants_email(user_id: int, kind: str, preferences: dict[tuple[int, str], str]) -> bool:
    return preferences.get((user_id, kind), Delivery.IMMEDIATELY) == Delivery.IMMEDIATELY


@transaction.atomic
def preferences_set(*, acting_user: User, choices: dict[str, str]) -> None:
    """Set how `acting_user` is emailed for each kind (`choices`: kind → Delivery)."""
    for kind, email in choices.items():
        if kind not in NotificationKind.values or email not in Delivery.values:
            continue
        NotificationPreference.objects.update_or_create(user_id=acting_user.pk, kind=kind, defaults={"email": email})


@transaction.atomic
def unsubscribe_apply(*, user_id: int, kind: str) -> None:
    """The one-click unsubscribe: no more emails of this kind for this person in this workspace ("digest": every kind
    they hear of in the daily digest goes off)."""
    if kind == "digest":
        NotificationPreference.objects.filter(user_id=user_id, email=Delivery.DIGEST).update(email=Delivery.OFF)
        return
    NotificationPreference.objects.update_or_create(user_id=user_id, kind=kind, defaults={"email": Delivery.OFF})


def bell_announce(user_ids: list[int]) -> None:
    """Tell these people's open pages that their unread count changed (the live bus; sent at commit)."""
    if user_ids:
        publish({"schema": connection.schema_name, "kind": "bell", "users": user_ids})


# --- what a person does with their notifications ------------------------------------------------------------------


@transaction.atomic
def notification_mark_read(*, notification: Notification, acting_user: User) -> Notification:
    if notification.recipient_id != acting_user.pk:
        raise Notification.DoesNotExist
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
        bell_announce([acting_user.pk])
    return notification


@transaction.atomic
def notifications_mark_all_read(*, acting_user: User) -> int:
    marked = Notification.objects.filter(recipient_id=acting_user.pk, read_at__isnull=True).update(
        read_at=timezone.now()
    )
    if marked:
        bell_announce([acting_user.pk])
    return marked


@transaction.atomic
def task_follow_set(*, task: Task, follow: bool, acting_user: User) -> bool:
    """Follow or stop following a task explicitly (the viewer must see its project: the caller found the task
    through the permission-aware selector). Returns whether the person now follows it explicitly."""
    if follow:
        TaskFollow.objects.bulk_create([TaskFollow(task=task, user=acting_user)], ignore_conflicts=True)
    else:
        TaskFollow.objects.filter(task=task, user_id=acting_user.pk).delete()
    return follow
