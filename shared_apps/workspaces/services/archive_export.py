"""Exporting a workspace to an archive."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context

from shared_apps.accounts.models import Membership, User
from shared_apps.workspaces.models import OperatorAction
from shared_apps.workspaces.services.authorization import OperatorPermission, authorize
from shared_apps.workspaces.services.operator_log import operator_log_record, operator_reason
from shared_apps.workspaces.services.references import references_named
from tenant_apps.audit.actions import AuditAction
from tenant_apps.audit.services import audit_record
from tenant_apps.webhooks.services import SECRET_COLUMNS
from tenants import lifecycle, selectors
from tenants.errors import TenantError
from tenants.models import PUBLIC_SCHEMA, Tenant

# Values that never leave the platform: an archive carries them as empty strings (an import makes new ones).
NOT_EXPORTED: dict[str, list[str]] = {**SECRET_COLUMNS}


def workspace_export(*, tenant: Tenant, acting_user: User | None, output: Path | None = None, reason: str = "") -> Path:
    """Write an archive of the workspace (pg_dump of its schema, its files, a JSON manifest with its members) and
    audit it. Secrets (webhook signing secrets) are not in it."""
    as_operator = authorize(
        tenant=tenant,
        acting_user=acting_user,
        operator_permission=OperatorPermission.CHANGE,
        member_action=None,
        verb="export",
    )
    if as_operator:
        reason = operator_reason(reason)
    if not selectors.workspaces().filter(pk=tenant.pk).exists():
        raise TenantError(_("%(name)s is not a workspace.") % {"name": tenant.name})
    members = [
        {"email": m.user.email, "role": m.role}
        for m in Membership.objects.filter(tenant=tenant).select_related("user").order_by("created_at")
    ]
    archive = lifecycle.tenant_archive_write(
        tenant=tenant,
        output=output,
        members=members,
        references=references_named(tenant.schema_name),
        blank_columns=NOT_EXPORTED,
    )
    details: dict[str, Any] = {"archive": archive.name, "bytes": archive.stat().st_size}
    with schema_context(PUBLIC_SCHEMA), transaction.atomic():
        if as_operator and acting_user is not None:
            details.update(reason=reason, operator=True)
            operator_log_record(
                operator=acting_user,
                action=OperatorAction.WORKSPACE_EXPORTED,
                reason=reason,
                tenant=tenant,
                metadata={"archive": archive.name, "bytes": details["bytes"]},
            )
        audit_record(
            tenant=tenant, action=AuditAction.TENANT_EXPORTED, actor=acting_user, target=tenant, metadata=details
        )
    return archive
