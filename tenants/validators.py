"""The one subdomain validator, used by signup, the `tenant` command, the API and the admin."""

from __future__ import annotations

import re

from tenants.errors import SubdomainInvalid

MIN_LENGTH = 3
MAX_LENGTH = 40
_LABEL = re.compile(r"^[a-z0-9-]+$")

RESERVED_SUBDOMAINS: frozenset[str] = frozenset(
    {
        "www", "app", "api", "admin", "administrator", "mail", "email", "smtp", "imap", "pop", "ftp", "static",
        "media", "assets", "cdn", "files", "billing", "status", "help", "support", "docs", "blog", "dev", "staging",
        "test", "root", "system", "security", "auth", "login", "logout", "signup", "register", "account", "accounts",
        "dashboard", "console", "internal", "ns1", "ns2", "dns", "mx", "webmail", "public", "template", "atrium",
    }
)  # fmt: skip


def validate_subdomain(value: str) -> str:
    """Return the normalised subdomain or raise SubdomainInvalid with a message that says what to change."""
    slug = value.strip().lower()
    if not slug:
        raise SubdomainInvalid("Choose a subdomain.")
    if len(slug) < MIN_LENGTH:
        raise SubdomainInvalid(f"Subdomains need at least {MIN_LENGTH} characters.")
    if len(slug) > MAX_LENGTH:
        raise SubdomainInvalid(f"Subdomains can have at most {MAX_LENGTH} characters.")
    if not _LABEL.match(slug):
        raise SubdomainInvalid("Use only lower-case letters a-z, digits and hyphens.")
    if slug.startswith("-") or slug.endswith("-"):
        raise SubdomainInvalid("A subdomain cannot start or end with a hyphen.")
    if slug.startswith("xn--"):
        raise SubdomainInvalid("Internationalised (xn--) subdomains are not supported.")
    if "--" in slug[2:4]:
        raise SubdomainInvalid("Hyphens in the third and fourth positions are reserved by DNS.")
    if slug in RESERVED_SUBDOMAINS:
        raise SubdomainInvalid(f"“{slug}” is reserved. Choose another subdomain.")
    return slug
