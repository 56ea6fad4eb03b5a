"""The shared (public) rows a workspace's rows point at, named by a key that means the same in another database. An id
an archive does not name this way means nothing here: the import clears it (or leaves out the row that needs it)."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db.models.functions import Lower

from shared_apps.accounts.models import User
from tenants import lifecycle

_NATURAL_KEYS: dict[str, tuple[Callable[[set[int]], dict[int, str]], Callable[[list[str]], dict[str, int]]]] = {}


def _natural_keys() -> dict[str, tuple[Callable[[set[int]], dict[int, str]], Callable[[list[str]], dict[str, int]]]]:

    if _NATURAL_KEYS:
        return _NATURAL_KEYS

    def users_named(ids: set[int]) -> dict[int, str]:
        return dict(User.objects.filter(pk__in=ids).values_list("pk", "email"))

    def users_found(emails: list[str]) -> dict[str, int]:
        rows = User.objects.annotate(e=Lower("email")).filter(e__in=[e.lower() for e in emails])
        return {email: pk for pk, email in rows.values_list("pk", "e")}

    def types_named(ids: set[int]) -> dict[int, str]:
        return {ct.pk: f"{ct.app_label}.{ct.model}" for ct in ContentType.objects.filter(pk__in=ids)}

    def types_found(names: list[str]) -> dict[str, int]:
        return {f"{ct.app_label}.{ct.model}": ct.pk for ct in ContentType.objects.all()}

    def perms_named(ids: set[int]) -> dict[int, str]:
        rows = Permission.objects.filter(pk__in=ids).values_list("pk", "content_type__app_label", "codename")
        return {pk: f"{app}.{codename}" for pk, app, codename in rows}

    def perms_found(names: list[str]) -> dict[str, int]:
        rows = Permission.objects.values_list("pk", "content_type__app_label", "codename")
        return {f"{app}.{codename}": pk for pk, app, codename in rows}

    def groups_named(ids: set[int]) -> dict[int, str]:
        return dict(Group.objects.filter(pk__in=ids).values_list("pk", "name"))

    def groups_found(names: list[str]) -> dict[str, int]:
        return {name: pk for pk, name in Group.objects.filter(name__in=names).values_list("pk", "name")}

    _NATURAL_KEYS.update(
        {
            User._meta.db_table: (users_named, users_found),
            ContentType._meta.db_table: (types_named, types_found),
            Permission._meta.db_table: (perms_named, perms_found),
            Group._meta.db_table: (groups_named, groups_found),
        }
    )
    return _NATURAL_KEYS


def references_named(schema: str) -> dict[str, dict[str, str]]:
    """Which accounts, content types and permissions the workspace's rows point at, by email / app.model /
    app.codename (written into the export's manifest)."""
    named: dict[str, dict[str, str]] = {}
    keys = _natural_keys()
    for table, ids in lifecycle.public_ids_referenced(schema).items():
        if table in keys:
            named[table] = {str(pk): name for pk, name in keys[table][0](ids).items()}
    return named


def references_found(references: dict[str, dict[str, str]]) -> dict[str, dict[int, int | None]]:
    """The archive's ids of shared rows → this database's (None where there is no such row here)."""
    remaps: dict[str, dict[int, int | None]] = {}
    keys = _natural_keys()
    for table, named in references.items():
        if table not in keys:
            continue
        found = keys[table][1](list(named.values()))
        lookup = {k.lower(): v for k, v in found.items()} if table == User._meta.db_table else found
        remaps[table] = {
            int(pk): lookup.get(name.lower() if table == User._meta.db_table else name)
            for pk, name in named.items()
            if pk.isdigit()
        }
    return remaps
