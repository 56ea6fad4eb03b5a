"""Django's `createcachetable`, for caches whose table is named with its schema (`shared_apps.core.cache.
PublicDatabaseCache` sends `"public"."atrium_cache"`): the table is looked up and created by its own name."""

from __future__ import annotations

from django.core.management.commands import createcachetable

from shared_apps.core.cache import PUBLIC_TABLE_PREFIX


class Command(createcachetable.Command):
    def create_table(self, database: str, tablename: str, dry_run: bool) -> None:
        super().create_table(database, tablename.removeprefix(PUBLIC_TABLE_PREFIX), dry_run)
