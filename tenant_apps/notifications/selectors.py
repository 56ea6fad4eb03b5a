"""Reading a person's notifications: only those whose project they may still see (one query a page, one for the
count), newest first."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from shared_apps.accounts.models import Membership, User
from tenant_apps.notifications.models import (
    Delivery,
    Notification,
    NotificationKind,
    NotificationPreference,
    TaskFollow,
)
from tenant_apps.notifications.services import handles
from tenant_apps.projects.models import Project
from tenant_apps.projects.permissions import Viewer, permissions_for, viewable_filter
from tenant_apps.projects.selectors import project_group_grants_by_user, project_user_grants


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


def mention_candidates(*, project: Project, tenant_id: int, query: str, limit: int = 8) -> list[tuple[str, str]]:
    """(handle, name) of the members who may see `project` whose handle or name starts with `query` (any case), for
    the comment box's @-completion. Three queries at most, whatever the number of members."""

    wanted = query.lower().lstrip("@")
    members = Membership.objects.filter(tenant_id=tenant_id, user__is_active=True).select_related("user")
    granted: dict[int, set[str]] = {}
    if project.is_private:
        granted = project_user_grants(project)
        for user_id, codenames in project_group_grants_by_user(project).items():
            granted.setdefault(user_id, set()).update(codenames)
    found = []
    for membership in members.order_by("user__name", "user__email"):
        user = membership.user
        viewer = Viewer(user=user, role=membership.role)
        if not permissions_for(viewer, project, granted.get(user.pk, set())):
            continue
        name = user.get_full_name() or user.email
        if not wanted or any(h.startswith(wanted) for h in handles(user)) or name.lower().startswith(wanted):
            found.append((user.email.split("@", 1)[0].lower(), name))
        if len(found) >= limit:
            break
    return found
