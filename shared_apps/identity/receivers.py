"""When a person signs in, the session records when (a workspace's session lifetime counts from it). A membership
ending (removed, left, or deprovisioned) takes the person out of the workspace's groups in the same transaction, so no
project grant held through a group outlives the membership."""

from __future__ import annotations

import time
from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from shared_apps.accounts.hooks import membership_ended
from shared_apps.accounts.models import User
from shared_apps.identity.models import WorkspaceGroup

LOGIN_AT_KEY = "identity_login_at"  # read by the policy middleware (session lifetime)


@receiver(user_logged_in, dispatch_uid="identity.login_time")
def _login_time(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        request.session[LOGIN_AT_KEY] = time.time()


@receiver(membership_ended, dispatch_uid="identity.groups_on_membership_ended")
def _groups_left(sender: Any, tenant: Any, user_id: int, **kwargs: Any) -> None:
    groups = WorkspaceGroup.objects.filter(tenant_id=tenant.pk).values("group_id")
    User.groups.through.objects.filter(user_id=user_id, group_id__in=groups).delete()
