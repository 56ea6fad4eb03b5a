"""Reads about a workspace's identity settings."""

from __future__ import annotations

from django.db.models import QuerySet

from shared_apps.identity.models import ScimToken, VerifiedDomain, WorkspacePolicy


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
