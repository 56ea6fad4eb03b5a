"""The database cache's tables (the cache without REDIS_URL) are made by migrations, in the public schema only."""

from __future__ import annotations

from django.db import connection

from tenants.models import Tenant


def test_the_cache_tables_exist_in_the_public_schema_only(tenant: Tenant, other_tenant: Tenant) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_name IN ('atrium_cache', 'atrium_cache_shared', 'projects_project') ORDER BY 1, 2"
        )
        found = cursor.fetchall()

    cache_tables = [row for row in found if row[1] != "projects_project"]
    assert cache_tables == [("public", "atrium_cache"), ("public", "atrium_cache_shared")]
    # ...while the tenant schemas, migrated by the same migrations, hold their own tables
    assert {tenant.schema_name, other_tenant.schema_name} <= {schema for schema, table in found}
