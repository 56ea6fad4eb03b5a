"""Names and hosts: rename, move to another subdomain, custom domains, expiring redirects."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context

from shared_apps.accounts.models import User
from shared_apps.accounts.permissions import Action
from shared_apps.workspaces.services.authorization import OperatorPermission, authorize
from tenant_apps.audit.actions import AuditAction
from tenant_apps.audit.services import audit_record
from tenants import selectors
from tenants import services as tenancy
from tenants.errors import DomainTaken, SubdomainTaken
from tenants.models import PUBLIC_SCHEMA, Domain, Tenant


def workspace_rename(*, tenant: Tenant, name: str, acting_user: User | None) -> Tenant:
    """Give the workspace a new display name (owners; operators with the change permission)."""
    authorize(
        tenant=tenant,
        acting_user=acting_user,
        operator_permission=OperatorPermission.CHANGE,
        member_action=Action.WORKSPACE_MANAGE,
        verb="rename",
    )
    with schema_context(PUBLIC_SCHEMA), transaction.atomic():
        renamed, previous = tenancy.tenant_rename(tenant=tenant, name=name)
        audit_record(
            tenant=renamed,
            action=AuditAction.TENANT_RENAMED,
            actor=acting_user,
            target=renamed,
            metadata={"from": previous, "to": renamed.name},
        )
    return renamed


def workspace_language_set(*, tenant: Tenant, language: str, acting_user: User | None) -> Tenant:
    """The workspace's default language, for members who chose none and for its emails (owners)."""
    authorize(
        tenant=tenant,
        acting_user=acting_user,
        operator_permission=OperatorPermission.CHANGE,
        member_action=Action.WORKSPACE_MANAGE,
        verb="change the language of",
    )
    with schema_context(PUBLIC_SCHEMA), transaction.atomic():
        changed, previous = tenancy.tenant_language_set(tenant=tenant, language=language)
        audit_record(
            tenant=changed,
            action=AuditAction.TENANT_LANGUAGE_CHANGED,
            actor=acting_user,
            target=changed,
            metadata={"from": previous, "to": changed.language},
        )
    return changed


def workspace_rename_subdomain(*, tenant: Tenant, new_slug: str, acting_user: User | None) -> Domain:
    """Move the workspace to <new_slug>.<BASE_DOMAIN>; the old host redirects for TENANT_RENAME_REDIRECT_DAYS."""
    authorize(
        tenant=tenant,
        acting_user=acting_user,
        operator_permission=OperatorPermission.CHANGE,
        member_action=Action.WORKSPACE_MANAGE,
        verb="move",
    )
    taken = SubdomainTaken(_("The subdomain “%(lower)s” is taken.") % {"lower": new_slug.strip().lower()})
    with schema_context(PUBLIC_SCHEMA), tenancy.domain_conflicts_as(taken), transaction.atomic():
        rename = tenancy.tenant_rename_subdomain(tenant=tenant, new_slug=new_slug)
        audit_record(
            tenant=rename.tenant,
            action=AuditAction.TENANT_SUBDOMAIN_RENAMED,
            actor=acting_user,
            target=rename.tenant,
            metadata={
                "from": rename.old_host,
                "to": rename.domain.domain,
                "redirect_until": rename.redirect_until.isoformat() if rename.redirect_until else "",
            },
        )
    return rename.domain


def workspace_domain_add(*, tenant: Tenant, domain: str, acting_user: User | None) -> Domain:
    """Attach a custom domain (served as the workspace, never primary: links keep using the subdomain)."""
    authorize(
        tenant=tenant,
        acting_user=acting_user,
        operator_permission=OperatorPermission.CHANGE,
        member_action=Action.DOMAINS_MANAGE,
        verb="add a domain to",
    )
    taken = DomainTaken(_("%(rstrip)s is already in use.") % {"rstrip": domain.strip().lower().rstrip(".")})
    with schema_context(PUBLIC_SCHEMA), tenancy.domain_conflicts_as(taken), transaction.atomic():
        created = tenancy.domain_add(tenant=tenant, domain=domain)
        audit_record(
            tenant=created.tenant,
            action=AuditAction.TENANT_DOMAIN_ADDED,
            actor=acting_user,
            target=created.tenant,
            metadata={"domain": created.domain},
        )
    return created


def workspace_domain_remove(*, tenant: Tenant, domain: str, acting_user: User | None) -> None:
    """Detach a custom domain (or end an old subdomain's redirect early). The primary host cannot be removed."""
    authorize(
        tenant=tenant,
        acting_user=acting_user,
        operator_permission=OperatorPermission.CHANGE,
        member_action=Action.DOMAINS_MANAGE,
        verb="remove a domain from",
    )
    with schema_context(PUBLIC_SCHEMA), transaction.atomic():
        host = tenancy.domain_remove(tenant=tenant, domain=domain)
        audit_record(
            tenant=tenant,
            action=AuditAction.TENANT_DOMAIN_REMOVED,
            actor=acting_user,
            target=tenant,
            metadata={"domain": host},
        )


def domains_expire_redirects() -> int:
    """Release old subdomains whose redirect grace period is over (beat). Returns how many."""
    expired = selectors.redirect_domains_expired()
    with schema_context(PUBLIC_SCHEMA):
        for row in expired:
            with transaction.atomic():
                host, tenant = row.domain, row.tenant
                tenancy.domain_release(domain=row)
                if selectors.workspaces().filter(pk=tenant.pk).exists():
                    audit_record(
                        tenant=tenant,
                        action=AuditAction.TENANT_REDIRECT_EXPIRED,
                        actor=None,
                        target=tenant,
                        metadata={"domain": host},
                    )
    return len(expired)
