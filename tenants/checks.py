"""System checks for the promises the routing layer relies on."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register


@register()
def tenancy_configuration(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    errors: list[Error] = []
    for app in ("django.contrib.contenttypes", "django.contrib.auth"):
        if app in settings.TENANT_APPS:
            errors.append(
                Error(
                    f"{app} must live in the public schema only (SHARED_APPS).",
                    hint="tenants.postgresql_backend keeps the ContentType cache across schema switches, which is "
                    "only correct while content-type and permission ids are global.",
                    id="atrium.E001",
                )
            )
    engine = settings.DATABASES["default"]["ENGINE"]
    if engine != "tenants.postgresql_backend":
        errors.append(
            Error(
                f"DATABASES['default']['ENGINE'] is {engine!r}.",
                hint="Use 'tenants.postgresql_backend' (statements that name their schema, see its docstring).",
                id="atrium.E002",
            )
        )
    errors.extend(pooling_errors(settings.DATABASES))
    return errors


def pooling_errors(databases: dict[str, dict[str, Any]]) -> list[Error]:
    """A transaction pooler in front of the default alias needs a direct connection beside it."""
    errors: list[Error] = []
    if databases["default"].get("POOLING") == "transaction":
        direct = databases.get("direct", {})
        same = all(direct.get(k) == databases["default"].get(k) for k in ("HOST", "PORT", "NAME"))
        if not direct or same:
            errors.append(
                Error(
                    "DATABASE_POOLING=transaction needs DATABASE_DIRECT_URL: a connection to the same database that "
                    "bypasses the pooler.",
                    hint="Migrations (migrate_schemas) and advisory locks need a server session of their own; "
                    "through a transaction pooler each transaction may get another one. Set DATABASE_DIRECT_URL to "
                    "PostgreSQL itself (or to a pooler database in session mode).",
                    id="atrium.E003",
                )
            )
    return errors
