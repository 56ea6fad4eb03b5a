"""Cache keys: scoped to the current schema, so no entry crosses tenants — except the keys that protect an account.

A rate limit, a "this TOTP code was already used" mark or a replayed-token guard that were per subdomain could be
multiplied by trying more subdomains (a code used on workspace B would be accepted again on A). So every key allauth
writes (`allauth:rl:…` rate limits, `allauth.mfa.totp.used?…`, `jwt:iss=…` id-token replay) and Atrium's own
account-wide keys (`atrium:global:…`) are stored under the `global` scope instead of the schema; so is allauth's cache
of a SAML identity provider's metadata (`saml.metadata.<url>.<entity id>`: what that URL serves, the same for anyone).
`tests/tenants/test_cache_keys.py` walks allauth's source for the keys it uses, so a new one cannot be missed.
"""

from __future__ import annotations

from tenants.db import connection

GLOBAL_PREFIXES = ("allauth:", "allauth.", "jwt:", "saml.metadata.", "atrium:global:")


def is_global(key: str) -> bool:
    return key.startswith(GLOBAL_PREFIXES)


def make_key(key: str, key_prefix: str, version: int | str) -> str:
    scope = "global" if is_global(key) else connection.schema_name
    return f"{scope}:{key_prefix}:{version}:{key}"


def reverse_key(key: str) -> str:
    return key.split(":", 3)[3]
