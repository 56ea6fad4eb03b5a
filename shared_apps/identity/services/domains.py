"""Verified domains: a workspace adds `acme.com`, publishes a TXT record, and is verified when the DNS carries it.

A domain is verified by at most one workspace: the partial unique index settles a race, and a domain another
workspace has verified is refused with a message that names no workspace. Checking again (on demand, and daily) keeps
a verified domain only while the record stays; a record gone is recorded and the domain is no longer verified.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shared_apps.accounts.models import User
from shared_apps.core.text import has_control_characters
from shared_apps.identity.dns_client import DnsUnavailable, txt_records
from shared_apps.identity.errors import IdentityError, NotFound
from shared_apps.identity.models import VerifiedDomain
from shared_apps.identity.services.common import require_identity_admin
from shared_apps.identity.services.scim import scim_users_join_held
from tenant_apps.audit.actions import AuditAction
from tenant_apps.audit.services import audit_record
from tenants.models import Tenant

RECORD_PREFIX = "_atrium-verification"
VALUE_PREFIX = "atrium-verification="
DOMAINS_PER_WORKSPACE_MAX = 20
# Addresses anyone can get: nobody proves they "own" them for a workspace.
CONSUMER_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "yahoo.com",
        "icloud.com",
        "me.com",
        "proton.me",
        "protonmail.com",
        "gmx.com",
        "gmx.de",
        "aol.com",
        "mail.com",
        "yandex.ru",
        "qq.com",
    }
)
_LABEL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")


def record_name(domain: VerifiedDomain) -> str:
    """The name of the TXT record the workspace publishes."""
    return f"{RECORD_PREFIX}.{domain.domain}"


def record_value(domain: VerifiedDomain) -> str:
    return f"{VALUE_PREFIX}{domain.token}"


def domain_normalise(raw: str) -> str:
    """`raw` as a lower-case ASCII domain name (an internationalised name as its punycode), or a clear refusal."""
    value = (raw or "").strip().rstrip(".").lower()
    if value.startswith("@"):
        value = value[1:]
    if not value:
        raise IdentityError(_("Enter a domain, such as acme.com."), field="domain")
    if has_control_characters(value) or any(c.isspace() for c in value) or "/" in value or "@" in value:
        raise IdentityError(_("Enter just the domain, such as acme.com (no address, path or spaces)."), field="domain")
    try:
        value = value.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise IdentityError(_("That is not a valid domain name."), field="domain") from exc
    labels = value.split(".")
    if (
        len(value) > 253
        or len(labels) < 2
        or any(not label or len(label) > 63 for label in labels)
        or any(set(label) - _LABEL_CHARS or label.startswith("-") or label.endswith("-") for label in labels)
        or labels[-1].isdigit()
    ):
        raise IdentityError(_("That is not a valid domain name."), field="domain")
    base = settings.BASE_DOMAIN
    if value == base or value.endswith("." + base):
        raise IdentityError(_("Atrium's own domain can't be verified by a workspace."), field="domain")
    if value in CONSUMER_DOMAINS:
        raise IdentityError(
            _("%(value)s is an email provider open to anyone: only a domain your organisation owns can be verified.")
            % {"value": value},
            field="domain",
        )
    return value


@transaction.atomic
def domain_add(*, tenant: Tenant, domain: str, acting_user: User) -> VerifiedDomain:
    """Start verifying `domain` for the workspace: returns the row whose TXT record the page shows."""
    require_identity_admin(tenant=tenant, acting_user=acting_user)
    name = domain_normalise(domain)
    existing = VerifiedDomain.objects.filter(tenant_id=tenant.pk)
    if existing.filter(domain=name).exists():
        raise IdentityError(_("%(name)s is already on this workspace's list.") % {"name": name}, field="domain")
    if existing.count() >= DOMAINS_PER_WORKSPACE_MAX:
        raise IdentityError(
            _("A workspace can have at most %(DOMAINS_PER_WORKSPACE_MAX)s domains.")
            % {"DOMAINS_PER_WORKSPACE_MAX": DOMAINS_PER_WORKSPACE_MAX},
            field="domain",
        )
    if VerifiedDomain.objects.filter(domain=name, verified_at__isnull=False).exists():
        raise IdentityError(_("%(name)s is already verified by another workspace.") % {"name": name}, field="domain")
    row = VerifiedDomain.objects.create(
        tenant_id=tenant.pk, domain=name, token=secrets.token_urlsafe(24), created_by=acting_user
    )
    audit_record(
        tenant=tenant,
        action=AuditAction.IDENTITY_DOMAIN_ADDED,
        actor=acting_user,
        target=row,
        metadata={"domain": name},
    )
    return row


def _locked(tenant: Tenant, domain_id: int) -> VerifiedDomain:
    row = VerifiedDomain.objects.select_for_update().filter(pk=domain_id, tenant_id=tenant.pk).first()
    if row is None:
        raise NotFound(_("There is no such domain in this workspace."))
    return row


def domain_check(*, tenant: Tenant, domain_id: int, acting_user: User | None) -> VerifiedDomain:
    """Ask the DNS for the domain's TXT record and record the answer: verified when it carries the workspace's value,
    no longer verified when a verified domain's record is gone. `acting_user` None: the daily check."""
    if acting_user is not None:
        require_identity_admin(tenant=tenant, acting_user=acting_user)
    row = VerifiedDomain.objects.filter(pk=domain_id, tenant_id=tenant.pk).first()
    if row is None:
        raise NotFound(_("There is no such domain in this workspace."))
    # The DNS is asked outside the transaction: no row lock is held while a resolver waits.
    try:
        values = txt_records(record_name(row))
        error = ""
    except DnsUnavailable:
        values, error = None, "The DNS did not answer; try again in a minute."
    found = values is not None and record_value(row) in values
    if values is not None and not found:
        error = f"No TXT record {record_name(row)} with the value {record_value(row)} was found."
    return _record_check(
        tenant=tenant,
        domain_id=domain_id,
        found=found,
        error=error,
        acting_user=acting_user,
        answered=values is not None,
    )


@transaction.atomic
def _record_check(
    *, tenant: Tenant, domain_id: int, found: bool, error: str, acting_user: User | None, answered: bool
) -> VerifiedDomain:
    row = _locked(tenant, domain_id)
    now = timezone.now()
    row.last_checked_at = now
    row.last_check_error = error[:300]
    if found and row.verified_at is None:
        if VerifiedDomain.objects.filter(domain=row.domain, verified_at__isnull=False).exclude(pk=row.pk).exists():
            row.last_check_error = f"{row.domain} is already verified by another workspace."
            row.save(update_fields=["last_checked_at", "last_check_error"])
            return row
        row.verified_at = now
        try:
            with transaction.atomic():
                row.save(update_fields=["last_checked_at", "last_check_error", "verified_at"])
        except IntegrityError:
            row.verified_at = None
            row.last_check_error = f"{row.domain} is already verified by another workspace."
            row.save(update_fields=["last_checked_at", "last_check_error"])
            return row
        audit_record(
            tenant=tenant,
            action=AuditAction.IDENTITY_DOMAIN_VERIFIED,
            actor=acting_user,
            target=row,
            metadata={"domain": row.domain},
        )
        # People the workspace's SCIM client provisioned for this domain, held until now, join.
        scim_users_join_held(tenant=tenant, domain=row.domain)
        return row
    if not found and answered and row.verified_at is not None:
        row.verified_at = None
        row.save(update_fields=["last_checked_at", "last_check_error", "verified_at"])
        audit_record(
            tenant=tenant,
            action=AuditAction.IDENTITY_DOMAIN_UNVERIFIED,
            actor=acting_user,
            target=row,
            metadata={"domain": row.domain, "reason": "record gone"},
        )
        return row
    row.save(update_fields=["last_checked_at", "last_check_error"])
    return row


@transaction.atomic
def domain_remove(*, tenant: Tenant, domain_id: int, acting_user: User) -> None:
    require_identity_admin(tenant=tenant, acting_user=acting_user)
    row = _locked(tenant, domain_id)
    name, was_verified = row.domain, row.is_verified
    row.delete()
    audit_record(
        tenant=tenant,
        action=AuditAction.IDENTITY_DOMAIN_REMOVED,
        actor=acting_user,
        target=None,
        metadata={"domain": name, "was_verified": was_verified},
    )


def domains_check_all() -> int:
    """The daily re-check of every domain (verified or waiting): returns how many were checked."""
    checked = 0
    for row in VerifiedDomain.objects.select_related("tenant").order_by("pk"):
        domain_check(tenant=row.tenant, domain_id=row.pk, acting_user=None)
        checked += 1
    return checked
