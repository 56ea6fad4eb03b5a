"""The tables of the database cache, in the public schema.

Without REDIS_URL, CACHES["default"] and CACHES["shared"] are Django's DatabaseCache on these two tables
(config/settings/base.py), so every process of a deployment reads and writes the same entries. `createcachetable`
cannot make them: the tenant router allows no migration to Django's internal cache model, so they are created here.
`tenants` is a shared app only, so this runs in the public schema and is skipped in every tenant schema. The DDL is
what `createcachetable` would send; the tables exist whether or not Redis is configured (empty and unused with it).
"""

from django.db import migrations

TABLES = ("atrium_cache", "atrium_cache_shared")


def _create(table: str) -> list[str]:
    return [
        f'CREATE TABLE IF NOT EXISTS "{table}" ('
        '"cache_key" varchar(255) NOT NULL PRIMARY KEY, '
        '"value" text NOT NULL, '
        '"expires" timestamp with time zone NOT NULL)',
        f'CREATE INDEX IF NOT EXISTS "{table}_expires" ON "{table}" ("expires")',
    ]


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0003_domain_one_primary"),
    ]

    operations = [
        migrations.RunSQL(
            sql=[statement for table in TABLES for statement in _create(table)],
            reverse_sql=[f'DROP TABLE IF EXISTS "{table}"' for table in TABLES],
        ),
    ]
