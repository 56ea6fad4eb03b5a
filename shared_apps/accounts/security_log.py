"""Where a change to a person's account security is recorded: on a workspace host, in that workspace's audit log
only (and only if the person is a member there); on the root domain, in the log of every workspace the person
belongs to, since each workspace's admins answer for its members' security."""

from __future__ import annotations

from django.http import HttpRequest

from shared_apps.accounts.models import Membership, User
from tenant_apps.audit.services import HasSchema
from tenants.models import TenantStatus
from tenants.routing import Route


def workspace_route(request: HttpRequest | None) -> Route | None:
    """The workspace whose host `request` came to (None on the root domain)."""
    route: Route | None = getattr(request, "route", None)
    if route is None or route.is_public:
        return None
    return route


def request_host(request: HttpRequest | None) -> str:
    route = getattr(request, "route", None)
    return route.host if route is not None else ""


def is_member(route: Route, user: User) -> bool:
    return Membership.objects.filter(user_id=user.pk, tenant_id=route.tenant_id).exists()


def workspaces_of(user: User) -> list[HasSchema]:
    """The workspaces `user` belongs to: where an account-wide change made on the root is recorded. One query."""
    return [
        m.tenant
        for m in Membership.objects.filter(user=user)
        .exclude(tenant__status__in=[TenantStatus.TEMPLATE, TenantStatus.SPARE])
        .select_related("tenant")
    ]


def security_log_targets(*, route: Route | None, user: User) -> list[HasSchema]:
    """The audit logs that record a security change `user` made on the host of `route` (None: the root)."""
    if route is None:
        return workspaces_of(user)
    return [route] if is_member(route, user) else []
