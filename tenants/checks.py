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
                hint="Use 'tenants.postgresql_backend' (search_path tracking, see its docstring).",
                id="atrium.E002",
            )
        )
    return errors
