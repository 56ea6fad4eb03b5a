"""A workspace's group (what SCIM makes), with accounts in its Django group, for tests of sharing with groups."""

from __future__ import annotations

import uuid

from django.contrib.auth.models import Group

from shared_apps.accounts.models import User
from shared_apps.identity.models import WorkspaceGroup
from tenants.models import Tenant


def workspace_group(tenant: Tenant, name: str, members: list[User] | tuple[User, ...] = ()) -> WorkspaceGroup:
    django_group = Group.objects.create(name=f"workspace:{tenant.pk}:{uuid.uuid4().hex}")
    group = WorkspaceGroup.objects.create(
        tenant_id=tenant.pk, group=django_group, display_name=name, document={"displayName": name}
    )
    User.groups.through.objects.bulk_create(
        User.groups.through(user_id=u.pk, group_id=django_group.pk) for u in members
    )
    return group
