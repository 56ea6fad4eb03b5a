"""When a person signs in, the session records when (a workspace's session lifetime counts from it). A membership
ending (removed, left, or deprovisioned) takes the person out of the workspace's groups in the same transaction, so no
project grant held through a group outlives the membership."""

from __future__ import annotations

import time
from typing import Any

from allauth.account.signals import user_logged_in as allauth_user_logged_in
from django.contrib import messages
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from shared_apps.accounts.hooks import membership_ended
from shared_apps.accounts.models import User
from shared_apps.identity.models import WorkspaceGroup
from shared_apps.identity.services.sso import SsoRefused, sso_membership_ensure

LOGIN_AT_KEY = "identity_login_at"  # read by the policy middleware (session lifetime)


@receiver(user_logged_in, dispatch_uid="identity.login_time")
def _login_time(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        request.session[LOGIN_AT_KEY] = time.time()


@receiver(allauth_user_logged_in, dispatch_uid="identity.sso_jit_membership")
def _sso_member(sender: Any, request: Any, user: Any, sociallogin: Any = None, **kwargs: Any) -> None:
    """Signed in through a workspace's identity provider: a member of that workspace from now on (just in time)."""
    if sociallogin is None:
        return
    from shared_apps.identity.adapter import connection_for_provider  # noqa: PLC0415 (the adapter imports allauth's models)

    connection = connection_for_provider(str(sociallogin.account.provider))
    if connection is None:
        return
    try:
        sso_membership_ensure(connection=connection, user=user)
    except SsoRefused as exc:
        if request is not None:
            messages.error(request, exc.message)


@receiver(membership_ended, dispatch_uid="identity.groups_on_membership_ended")
def _groups_left(sender: Any, tenant: Any, user_id: int, **kwargs: Any) -> None:
    groups = WorkspaceGroup.objects.filter(tenant_id=tenant.pk).values("group_id")
    User.groups.through.objects.filter(user_id=user_id, group_id__in=groups).delete()
