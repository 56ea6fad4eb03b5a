"""Importing an export archive into a new workspace."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context

from billing.tasks import trial_start
from shared_apps.accounts.models import Membership, Role, User
from shared_apps.accounts.permissions import NotAllowed
from shared_apps.accounts.services import invitations_restore, membership_create
from shared_apps.core.transactions import enqueue_on_commit
from shared_apps.storage import accounting
from shared_apps.storage.backends import files
from shared_apps.workspaces.services.authorization import OperatorPermission, is_operator_with
from shared_apps.workspaces.services.references import references_found
from tenant_apps.audit.actions import AuditAction
from tenant_apps.audit.services import audit_record
from tenant_apps.webhooks.services import endpoints_after_import
from tenants import restore, selectors
from tenants import services as tenancy
from tenants.errors import SubdomainTaken
from tenants.models import PUBLIC_SCHEMA, Domain, Tenant
from tenants.validators import validate_subdomain

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImportResult:
    tenant: Tenant
    rows: int
    files: int
    files_bytes: int
    members: list[str]
    invited: list[str]


def workspace_import(
    *,
    archive: Path,
    slug: str,
    acting_user: User | None = None,
    name: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> ImportResult:
    """Restore an export archive into a new workspace at <slug>: a fresh opaque schema holding the archive's rows with
    their ids, the members re-linked to the accounts here by email (those without an account are invited, with their
    role), the files copied under the new workspace's prefix. The archive is checked end to end before anything is
    written; a failure at any step leaves no schema, no workspace row and no file."""

    say = progress or (lambda _line: None)
    if acting_user is not None and not is_operator_with(acting_user, OperatorPermission.ADD):
        raise NotAllowed(_("Only platform operators can import a workspace."))
    slug = validate_subdomain(slug)
    if Domain.objects.filter(domain=selectors.host_for_slug(slug)).exists():
        raise SubdomainTaken(_("The subdomain “%(slug)s” is taken.") % {"slug": slug})
    with tempfile.TemporaryDirectory(prefix="atrium-import-") as tmp:
        say(f"Checking {archive.name} …")
        checked = restore.archive_check(archive, workdir=Path(tmp), progress=say)
        manifest = checked.manifest
        written: list[str] = []
        taken = SubdomainTaken(_("The subdomain “%(slug)s” is taken.") % {"slug": slug})
        try:
            with schema_context(PUBLIC_SCHEMA), tenancy.domain_conflicts_as(taken), transaction.atomic():
                tenant, via = tenancy.tenant_provision(slug=slug, name=name or manifest["tenant"]["name"])
                say(f"Schema {tenant.schema_name} ready ({via}); loading rows …")
                rows = restore.schema_data_load(
                    checked=checked,
                    schema=tenant.schema_name,
                    remaps=references_found(manifest.get("references", {})),
                    progress=say,
                )
                with schema_context(tenant.schema_name):
                    endpoints_after_import(tenant=tenant)
                members, invited = _members_relink(tenant, manifest.get("members", []), invitations_restore)
                say(f"Members: {len(members)} re-linked, {len(invited)} invited")
                say(f"Copying {len(checked.files)} file(s) …")
                copied = restore.archive_files_copy(
                    checked=checked, schema=tenant.schema_name, written=written, progress=say
                )
                if checked.files:
                    accounting.add_stored(tenant.schema_name, nbytes=copied, objects=len(checked.files))
                audit_record(
                    tenant=tenant,
                    action=AuditAction.TENANT_IMPORTED,
                    actor=acting_user,
                    target=tenant,
                    metadata={
                        "archive": archive.name,
                        "source_schema": checked.source_schema,
                        "exported_at": str(manifest.get("exported_at", "")),
                        "rows": sum(rows.values()),
                        "files": len(checked.files),
                        "members": len(members),
                        "invited": len(invited),
                    },
                )

                enqueue_on_commit(trial_start, schema_name=PUBLIC_SCHEMA, tenant_id=tenant.pk)
        except BaseException:
            if written:
                files().delete_many(written)
            raise
    logger.info(
        "workspace imported", extra={"tenant": tenant.schema_name, "subdomain": slug, "source": checked.source_schema}
    )
    return ImportResult(
        tenant=tenant,
        rows=sum(rows.values()),
        files=len(checked.files),
        files_bytes=copied,
        members=members,
        invited=invited,
    )


def _members_relink(
    tenant: Tenant, listed: list[dict[str, str]], invite: Callable[..., list[Any]]
) -> tuple[list[str], list[str]]:
    """Each member of the archive becomes a member again when an account with that email exists here; the others are
    invited with their role."""
    members: list[str] = []
    missing: list[tuple[str, str]] = []
    for entry in listed:
        email, role = entry["email"], entry["role"] if entry["role"] in Role.values else Role.MEMBER
        user = User.objects.filter(email__iexact=email.strip()).first()
        if user is None:
            missing.append((email, role))
            continue
        if not Membership.objects.filter(user=user, tenant=tenant).exists():
            membership_create(user=user, tenant=tenant, role=role)
            members.append(user.email)
    invited = [inv.email for inv in invite(tenant=tenant, invites=missing)] if missing else []
    return members, invited
