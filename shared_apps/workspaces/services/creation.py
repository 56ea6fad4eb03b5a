"""Creating a workspace with its owner, within the self-service cap."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext, ngettext
from django_tenants.utils import schema_context

from billing.tasks import trial_start
from shared_apps.accounts.models import Membership, Role, User
from shared_apps.accounts.services import membership_create, user_get_or_create
from shared_apps.core.errors import ApplicationError
from shared_apps.core.transactions import enqueue_on_commit
from shared_apps.workspaces.services.authorization import OperatorPermission, is_operator_with
from tenant_apps.audit.actions import AuditAction
from tenant_apps.audit.services import audit_record
from tenants import selectors
from tenants import services as tenancy
from tenants.errors import SubdomainTaken
from tenants.models import PUBLIC_SCHEMA, Tenant
from tenants.provisioning import Method
from tenants.tasks import pool_refill
from tenants.validators import validate_subdomain

logger = logging.getLogger(__name__)


def workspace_create(
    *,
    slug: str,
    name: str,
    owner_email: str,
    owner_password: str | None = None,
    acting_user: User | None = None,
    method: Method = Method.AUTO,
) -> tuple[Tenant, User]:
    """Create a workspace at <slug>.<BASE_DOMAIN> with its owner, in one transaction.

    A failure at any step leaves no tenant row, no domain, no membership and no schema — or, for a pool claim, the
    spare as it was. Two signups racing for one subdomain: the unique index on the domain decides, the loser gets
    SubdomainTaken. After commit: the welcome task (onboarding project + email) and a pool refill are queued.
    """
    slug = validate_subdomain(slug)
    taken = SubdomainTaken(gettext("The subdomain “%(slug)s” is taken.") % {"slug": slug})
    with schema_context(PUBLIC_SCHEMA), tenancy.domain_conflicts_as(taken), transaction.atomic():
        if acting_user is not None and not is_operator_with(acting_user, OperatorPermission.ADD):
            _ensure_below_ownership_cap(acting_user)
        tenant, via = tenancy.tenant_provision(slug=slug, name=name, method=method)
        owner, _ = user_get_or_create(email=owner_email, password=owner_password)
        membership_create(user=owner, tenant=tenant, role=Role.OWNER)
        audit_record(
            tenant=tenant,
            action=AuditAction.TENANT_CREATED,
            actor=acting_user,
            target=tenant,
            metadata={"subdomain": slug, "owner": owner.email, "provisioned_via": str(via)},
        )
        from shared_apps.workspaces.tasks import workspace_welcome  # noqa: PLC0415  (the tasks import these services)

        enqueue_on_commit(workspace_welcome, schema_name=tenant.schema_name, owner_email=owner.email)
        # Every new workspace starts a trial, without a card.

        enqueue_on_commit(trial_start, schema_name=PUBLIC_SCHEMA, tenant_id=tenant.pk)
        if settings.TENANT_POOL_SIZE > 0:
            enqueue_on_commit(pool_refill, schema_name=PUBLIC_SCHEMA)
    logger.info("workspace created", extra={"tenant": tenant.schema_name, "subdomain": slug, "via": str(via)})
    return tenant, owner


class WorkspaceLimitReached(ApplicationError):
    """An account owns as many workspaces as one account may (WORKSPACES_PER_OWNER_MAX)."""


def _ensure_below_ownership_cap(user: User) -> None:
    """Self-service creation stops at WORKSPACES_PER_OWNER_MAX owned workspaces. The account's row is locked first,
    so two creations at once cannot both take the last one."""
    User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True).first()
    owned = Membership.objects.filter(user=user, role=Role.OWNER, tenant__in=selectors.workspaces()).count()
    limit = settings.WORKSPACES_PER_OWNER_MAX
    if owned >= limit:
        raise WorkspaceLimitReached(
            ngettext(
                "You already own %(owned)s workspace, the most one account can own. Delete one you no longer use, "
                "or ask us to raise the limit.",
                "You already own %(owned)s workspaces, the most one account can own. Delete one you no longer use, "
                "or ask us to raise the limit.",
                owned,
            )
            % {"owned": owned},
            extra={"owned": owned, "limit": limit},
        )
