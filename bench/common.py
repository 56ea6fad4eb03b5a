"""What every benchmark shares: output, and a throwaway database on the server the settings point at."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit, urlunsplit


def log(message: str) -> None:
    print(message, flush=True)


def server_url() -> str:
    """DATABASE_URL, or the embedded development server's (started if needed)."""
    url = os.environ.get("DATABASE_URL", "")
    if url:
        return url
    from config.embedded_db import embedded_database_url

    return embedded_database_url()


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def recreate_database(url: str, name: str, *, drop_only: bool = False) -> None:
    import psycopg

    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')


def api_rates_unlimited() -> None:
    """Lift every plan's API rates (for benchmark settings): each request is still counted, never refused."""
    from dataclasses import replace

    from billing import plans

    for code, plan in list(plans.PLANS.items()):
        plans.PLANS[code] = replace(
            plan,
            limits={
                **plan.limits,
                plans.Resource.API_REQUESTS_PER_MINUTE: plans.Limit(None),
                plans.Resource.API_REQUESTS_PER_MINUTE_PER_KEY: plans.Limit(None),
            },
        )


def bench_workspace() -> Any:
    """The schemas migrated, and one active workspace "Bench" at bench.localhost (made by the fast path): its Tenant.
    For a benchmark whose Django is set up."""
    from django.core.management import call_command
    from django.db import transaction

    from tenants import provisioning, services
    from tenants.models import Domain, TenantStatus

    call_command("migrate_schemas", interactive=False, verbosity=0)
    services.public_tenant_ensure()
    provisioning.template_ensure()
    with transaction.atomic():
        tenant, _via = provisioning.tenant_with_schema(
            name="Bench", status=TenantStatus.ACTIVE, method=provisioning.Method.FAST
        )
        Domain.objects.create(tenant=tenant, domain="bench.localhost", is_primary=True)
    return tenant
