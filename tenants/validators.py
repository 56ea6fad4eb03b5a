"""The one subdomain validator, used by signup, the `tenant` command, the API and the admin; and the custom-domain
validator next to it."""

from __future__ import annotations

import re

from django.conf import settings
from django.utils.translation import gettext as _

from shared_apps.core.text import has_control_characters
from tenants.errors import DomainInvalid, SubdomainInvalid, TenantNameInvalid

MIN_LENGTH = 3
MAX_LENGTH = 40
_LABEL = re.compile(r"^[a-z0-9-]+$")

RESERVED_SUBDOMAINS: frozenset[str] = frozenset(
    {
        "www", "app", "api", "admin", "administrator", "mail", "email", "smtp", "imap", "pop", "ftp", "static",
        "media", "assets", "cdn", "files", "billing", "status", "help", "support", "docs", "blog", "dev", "staging",
        "test", "root", "system", "security", "auth", "login", "logout", "signup", "register", "account", "accounts",
        "dashboard", "console", "internal", "ns1", "ns2", "dns", "mx", "webmail", "public", "template", "atrium",
        "www1", "www2", "ww", "wwww", "web", "ws", "wss", "graphql", "oauth", "sso", "saml", "oidc", "callback",
        "webhook", "webhooks", "stripe", "pay", "payment", "payments", "invoice", "invoices", "checkout", "portal",
        "pool", "spare", "localhost", "postmaster", "hostmaster", "abuse", "noreply", "no-reply", "info", "news",
        "about", "pricing", "legal", "privacy", "terms", "community", "forum", "careers", "jobs", "mobile", "beta",
        "alpha", "preview", "sandbox", "prod", "production", "stage", "uat", "qa", "img", "images", "download",
        "downloads", "upload", "uploads", "s3", "storage", "health", "healthz", "readyz", "metrics", "monitor",
        "analytics", "tracking", "ads", "ftp2", "vpn", "git", "ci", "cd", "build", "deploy", "ops", "superadmin",
        "sysadmin", "operator", "operators", "staff", "team", "teams", "workspace", "workspaces", "home", "www-data",
    }
)  # fmt: skip


def validate_subdomain(value: str) -> str:
    """Return the normalised subdomain or raise SubdomainInvalid with a message that says what to change."""
    slug = value.strip().lower()
    if not slug:
        raise SubdomainInvalid(_("Choose a subdomain."))
    if len(slug) < MIN_LENGTH:
        raise SubdomainInvalid(_("Subdomains need at least %(MIN_LENGTH)s characters.") % {"MIN_LENGTH": MIN_LENGTH})
    if len(slug) > MAX_LENGTH:
        raise SubdomainInvalid(_("Subdomains can have at most %(MAX_LENGTH)s characters.") % {"MAX_LENGTH": MAX_LENGTH})
    if not _LABEL.match(slug):
        raise SubdomainInvalid(_("Use only lower-case letters a-z, digits and hyphens."))
    if slug.startswith("-") or slug.endswith("-"):
        raise SubdomainInvalid(_("A subdomain cannot start or end with a hyphen."))
    if slug.startswith("xn--"):
        raise SubdomainInvalid(_("Internationalised (xn--) subdomains are not supported."))
    if "--" in slug[2:4]:
        raise SubdomainInvalid(_("Hyphens in the third and fourth positions are reserved by DNS."))
    if slug in RESERVED_SUBDOMAINS:
        raise SubdomainInvalid(_("“%(slug)s” is reserved. Choose another subdomain.") % {"slug": slug})
    return slug


_HOST_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_HOST_CHARACTERS = re.compile(r"[a-z0-9.-]{1,253}")


def host_normalise(value: str) -> str | None:
    """A host name as stored in Domain (lower case, no trailing dot), or None when `value` cannot be one (empty, too
    long, or any character a host name does not have: NUL, controls, bidi marks, spaces). For looking a host up."""
    host = value.strip().lower().rstrip(".")
    return host if _HOST_CHARACTERS.fullmatch(host) else None


def validate_custom_domain(value: str) -> str:
    """A workspace's own host name (e.g. `projects.acme.com`), normalised, or DomainInvalid saying what to change."""
    host = value.strip().lower().rstrip(".")
    if not host:
        raise DomainInvalid(_("Enter a domain name, e.g. projects.example.com."))
    if "://" in host or "/" in host or ":" in host:
        raise DomainInvalid(_("Enter the host name only, without a scheme, port or path (e.g. projects.example.com)."))
    if len(host) > 253:
        raise DomainInvalid(_("Domain names can have at most 253 characters."))
    labels = host.split(".")
    if len(labels) < 2:
        raise DomainInvalid(_("Enter a full domain name with a dot, e.g. projects.example.com."))
    for label in labels:
        if not label:
            raise DomainInvalid(_("A domain name cannot have empty parts (two dots in a row)."))
        if len(label) > 63:
            raise DomainInvalid(_("Each part of a domain name can have at most 63 characters."))
        if label.startswith("xn--"):
            raise DomainInvalid(_("Internationalised (xn--) domains are not supported."))
        if not _HOST_LABEL.match(label):
            raise DomainInvalid(
                _("Use only letters a-z, digits and hyphens, and no hyphen at the start or end of a part.")
            )
    if labels[-1].isdigit():
        raise DomainInvalid(_("IP addresses cannot be workspace domains; enter a domain name."))
    base = settings.BASE_DOMAIN
    if host == base or host.endswith("." + base):
        raise DomainInvalid(
            _("Hosts under %(base)s are subdomains: rename the workspace's subdomain instead.") % {"base": base}
        )
    return host


NAME_MAX_LENGTH = 100
# A web address in any form a mail client or a browser would make a link of: a scheme ("https://", "mailto:…@"),
# "www.", or a host name ("evil.example.com", "acme.io"). "Acme Inc." and "Dr. Who" are names.
_WEB_ADDRESS = re.compile(
    r"(?i)\b[a-z][a-z0-9+.-]*:(?://|\S*@)|\bwww\.|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,63}(?![a-z0-9-])"
)


def validate_tenant_name(value: str) -> str:
    """A workspace's display name: trimmed, 1 to 100 characters, no control or format characters, no web address (a
    name is shown to members, in their mail and on pages that link nothing it says). Returns it trimmed."""
    name = value.strip()
    if not name:
        raise TenantNameInvalid(_("Give the workspace a name."))
    if len(name) > NAME_MAX_LENGTH:
        raise TenantNameInvalid(
            _("Workspace names can have at most %(NAME_MAX_LENGTH)s characters.") % {"NAME_MAX_LENGTH": NAME_MAX_LENGTH}
        )
    if has_control_characters(name):
        raise TenantNameInvalid(_("Workspace names cannot contain line breaks or control characters."))
    if _WEB_ADDRESS.search(name):
        raise TenantNameInvalid(_("Workspace names cannot contain a web address: write “Acme”, not “acme.com”."))
    return name
