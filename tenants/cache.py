"""Cache keys: scoped to the current schema, so no entry crosses tenants (DESIGN §2.4) — with one exception.

allauth's rate-limit keys (`allauth:rl:…`) must be the same on every host: a limit that were per subdomain could be
multiplied by trying more subdomains. They are stored under the `global` scope instead of the schema.
"""

from __future__ import annotations

from tenants.db import connection

_GLOBAL_PREFIXES = ("allauth:rl:",)


def make_key(key: str, key_prefix: str, version: int | str) -> str:
    scope = "global" if key.startswith(_GLOBAL_PREFIXES) else connection.schema_name
    return f"{scope}:{key_prefix}:{version}:{key}"


def reverse_key(key: str) -> str:
    return key.split(":", 3)[3]
