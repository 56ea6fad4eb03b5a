"""Reading a person's notifications: only those whose project they may still see (one query a page, one for the
count), newest first."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from shared_apps.accounts.models import User
from tenant_apps.notifications.models import (
    Delivery,
    Notification,
    NotificationKind,
    NotificationPreference,
    TaskFollow,
)
from tenant_apps.projects.models import Project
from tenant_apps.projects.permissions import Viewer, viewable_filter


def notifications_for(viewer: Viewer) -> QuerySet[Notification]:
    if viewer.user is None:
        return Notification.objects.none()
    visible = Q(project_id__isnull=True)
    if viewer.is_workspace_admin:
        visible |= Q(project_id__isnull=False)
    else:
        visible |= Q(project_id__in=Project.objects.filter(viewable_filter(viewer)).values("id"))
    return Notification.objects.filter(visible, recipient_id=viewer.user.pk).order_by("-created_at", "-id")


def unread_count(viewer: Viewer) -> int:
    return notifications_for(viewer).filter(read_at__isnull=True).count()


def notification_get(viewer: Viewer, notification_id: int) -> Notification:
    """The viewer's own notification (DoesNotExist for anyone else's: not found)."""
    return notifications_for(viewer).get(pk=notification_id)


def follows_explicitly(*, user: User, task_id: int) -> bool:
    return TaskFollow.objects.filter(task_id=task_id, user_id=user.pk).exists()


def preferences_for(user: User) -> dict[str, str]:
    """kind → how `user` is emailed for it in this workspace (every kind; at once where nothing was chosen)."""
    chosen = dict(NotificationPreference.objects.filter(user_id=user.pk).values_list("kind", "email"))
    return {kind: chosen.get(kind, Delivery.IMMEDIATELY) for kind in NotificationKind.values}
