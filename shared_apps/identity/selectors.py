"""Reads about a workspace's identity settings."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Count, QuerySet
from django.db.models.functions import Lower

from shared_apps.identity.models import (
    ScimToken,
    SsoConnection,
    SsoSignIn,
    VerifiedDomain,
    WorkspaceGroup,
    WorkspacePolicy,
)
from tenants import routing
from tenants.models import Domain


def domain_list(*, tenant_id: int) -> QuerySet[VerifiedDomain]:
    return VerifiedDomain.objects.filter(tenant_id=tenant_id).order_by("domain")


def verified_domain_owner(*, email: str) -> int | None:
    """The workspace that verified the domain of `email`, if one has."""
    domain = email.rpartition("@")[2].strip().lower().rstrip(".")
    if not domain:
        return None
    return (
        VerifiedDomain.objects.filter(domain=domain, verified_at__isnull=False)
        .values_list("tenant_id", flat=True)
        .first()
    )


def verified_domains_of(*, tenant_id: int) -> set[str]:
    return set(
        VerifiedDomain.objects.filter(tenant_id=tenant_id, verified_at__isnull=False).values_list("domain", flat=True)
    )


def policy_for(*, tenant_id: int) -> WorkspacePolicy:
    """The workspace's policy (defaults, unsaved, when it has none)."""
    return WorkspacePolicy.objects.filter(tenant_id=tenant_id).first() or WorkspacePolicy(tenant_id=tenant_id)


def workspace_group_list(*, tenant_id: int) -> QuerySet[WorkspaceGroup]:
    """The workspace's groups by name, each with `member_count`: the accounts in its Django group (the members of the
    workspace its identity provider put there, who hold what the group is granted). One query."""
    return (
        WorkspaceGroup.objects.filter(tenant_id=tenant_id)
        .annotate(member_count=Count("group__user"))
        .order_by(Lower("display_name"), "id")
    )


def group_uuid(value: object) -> uuid.UUID | None:
    """A group's id as a page or a client sends it (its random SCIM id), or None for anything that is not one."""
    if isinstance(value, uuid.UUID):
        return value
    if not isinstance(value, str) or len(value) > 36:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def workspace_groups_by_id(*, tenant_id: int, group_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, WorkspaceGroup]:
    """The groups of this workspace among `group_ids` (another workspace's are simply not there). One query."""
    ids = set(group_ids)
    if not ids:
        return {}
    return {g.scim_id: g for g in WorkspaceGroup.objects.filter(tenant_id=tenant_id, scim_id__in=ids)}


def scim_token_list(*, tenant_id: int) -> QuerySet[ScimToken]:
    return ScimToken.objects.filter(tenant_id=tenant_id).select_related("created_by")


_SECRET_MAX_LENGTH = 200


def scim_token_authenticate(*, secret: str, tenant_id: int) -> ScimToken | None:
    """The active token `secret` names in workspace `tenant_id`, else None whatever the reason (unknown, revoked,
    another workspace's): one SHA-256 and one query on the hash's unique index."""
    if not secret or len(secret) > _SECRET_MAX_LENGTH or not secret.isascii():
        return None
    return (
        ScimToken.objects.filter(
            secret_hash=ScimToken.hash_secret(secret), tenant_id=tenant_id, revoked_at__isnull=True
        )
        .only("id", "prefix", "tenant_id", "last_used_at")
        .first()
    )


# --- the policy as requests read it ----------------------------------------------------------------------------------
# Cached per process: a request of a warm workspace reads its policy and its "has SSO" flag without a statement. A
# change is forgotten at once by the changing process and, announced on the route feed when it commits, by every other
# process at its next read of the feed (within TENANT_ROUTING_LOCAL_TTL). While this process follows the feed, an entry
# lives POLICY_TTL_FOLLOWED_S; while it does not (the shared cache unreachable), POLICY_TTL_S.

POLICY_TTL_S = 10.0
POLICY_TTL_FOLLOWED_S = 300.0
_FEED_PREFIX = "identity-policy:"


@dataclass(frozen=True, slots=True)
class PolicySnapshot:
    require_sso: bool
    require_two_factor: bool
    session_lifetime_minutes: int | None


_snapshots: dict[int, tuple[float, PolicySnapshot | None]] = {}
_has_sso: dict[int, tuple[float, bool]] = {}


def _expiry(now: float) -> float:
    return now + (POLICY_TTL_FOLLOWED_S if routing.feed.followed else POLICY_TTL_S)


def policy_snapshot(*, tenant_id: int) -> PolicySnapshot | None:
    """The workspace's policy when it asks anything of a request (None: nothing to enforce), cached per process."""
    now = time.monotonic()
    cached = _snapshots.get(tenant_id)
    if cached is not None and cached[0] > now:
        return cached[1]
    row = (
        WorkspacePolicy.objects.filter(tenant_id=tenant_id)
        .values_list("require_sso", "require_two_factor", "session_lifetime_minutes")
        .first()
    )
    snapshot = PolicySnapshot(*row) if row is not None and (row[0] or row[1] or row[2]) else None
    if len(_snapshots) > 10_000:
        _snapshots.clear()
    _snapshots[tenant_id] = (_expiry(now), snapshot)
    return snapshot


def workspace_has_sso(*, tenant_id: int) -> bool:
    """Whether the workspace has an enabled identity provider (its sign-in page offers "Continue with SSO"), cached
    per process: the sign-in page of a warm workspace sends no statement."""
    now = time.monotonic()
    cached = _has_sso.get(tenant_id)
    if cached is not None and cached[0] > now:
        return cached[1]
    found = SsoConnection.objects.filter(tenant_id=tenant_id, enabled=True).exists()
    if len(_has_sso) > 10_000:
        _has_sso.clear()
    _has_sso[tenant_id] = (_expiry(now), found)
    return found


def _forget_here(tenant_id: int) -> None:
    _snapshots.pop(tenant_id, None)
    _has_sso.pop(tenant_id, None)


def policy_forget(*, tenant_id: int) -> None:
    """The workspace's policy or SSO connection changed: forgotten here now (a rollback only costs a re-read), and
    once committed here again (a read in between may have cached the old row) and in every other process."""

    def committed() -> None:
        _forget_here(tenant_id)
        routing.announce([f"{_FEED_PREFIX}{tenant_id}"])

    _forget_here(tenant_id)
    transaction.on_commit(committed, robust=True)


def policy_memory_forget() -> None:
    """Forget every workspace's cached policy and SSO flag (tests, between cases; a process that lost the feed)."""
    _snapshots.clear()
    _has_sso.clear()


def _heard(names: list[str] | None) -> None:
    if names is None:
        policy_memory_forget()
        return
    for name in names:
        if name.startswith(_FEED_PREFIX) and name[len(_FEED_PREFIX) :].isdigit():
            _forget_here(int(name[len(_FEED_PREFIX) :]))


routing.feed_listen(_heard)


def _with_slug(connection: SsoConnection | None) -> tuple[SsoConnection, str] | None:
    if connection is None:
        return None
    domain = Domain.objects.filter(tenant_id=connection.tenant_id, is_primary=True).values_list("domain", flat=True)
    host = domain.first()
    return (connection, host.split(".")[0]) if host else None


def sso_connection_for_email(*, email: str) -> tuple[SsoConnection, str] | None:
    """The identity provider of the workspace that verified the domain of `email`, with the workspace's slug."""
    tenant_id = verified_domain_owner(email=email)
    if tenant_id is None:
        return None
    return _with_slug(SsoConnection.objects.select_related("tenant").filter(tenant_id=tenant_id, enabled=True).first())


def sso_connection_for_slug(*, slug: str) -> tuple[SsoConnection, str] | None:
    host = f"{slug.lower()}.{settings.BASE_DOMAIN}"
    tenant_id = Domain.objects.filter(domain=host).values_list("tenant_id", flat=True).first()
    if tenant_id is None:
        return None
    return _with_slug(SsoConnection.objects.select_related("tenant").filter(tenant_id=tenant_id, enabled=True).first())


def sso_connection_of(*, tenant_id: int) -> SsoConnection | None:
    return SsoConnection.objects.filter(tenant_id=tenant_id).first()


# A session on a workspace's host counts as made through its identity provider when an SSO sign-in of that person
# there happened at most this long before the session began (the handoff follows the sign-in within seconds).
SSO_HANDOFF_WINDOW_S = 120


def sso_required_for(*, tenant_id: int, email: str, role: str) -> bool:
    """Whether this member must come through the workspace's identity provider: the policy asks it, the workspace
    has a provider, the address is in a verified domain, and the member is not an owner (owners keep a break-glass
    sign-in)."""
    if role == "owner":
        return False
    domain = email.rpartition("@")[2].lower()
    if domain not in verified_domains_of(tenant_id=tenant_id):
        return False
    return SsoConnection.objects.filter(tenant_id=tenant_id, enabled=True).exists()


def came_through_sso(*, tenant_id: int, user_id: int, session_started: float) -> bool:
    row = SsoSignIn.objects.filter(tenant_id=tenant_id, user_id=user_id).values_list("signed_in_at", flat=True).first()
    return row is not None and row.timestamp() >= session_started - SSO_HANDOFF_WINDOW_S
