"""A membership ending (removed, left, or deprovisioned) takes the person out of the workspace's groups in the same
transaction, so no project grant held through a group outlives the membership."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from shared_apps.accounts.hooks import membership_ended
from shared_apps.accounts.models import User
from shared_apps.identity.models import WorkspaceGroup


@receiver(membership_ended, dispatch_uid="identity.groups_on_membership_ended")
def _groups_left(sender: Any, tenant: Any, user_id: int, **kwargs: Any) -> None:
    groups = WorkspaceGroup.objects.filter(tenant_id=tenant.pk).values("group_id")
    User.groups.through.objects.filter(user_id=user_id, group_id__in=groups).delete()
