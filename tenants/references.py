"""Which columns of the tenant schemas point at rows of the public schema, read from the models.

A tenant table's reference to a public table (the user who created a project, a grant's permission) is a column
without a database constraint (`db_constraint=False`): a constraint would hang two triggers per workspace on the public
table, and at ten thousand workspaces every connection that reads the user table would load tens of thousands of
them, and every new workspace would rewrite them all. So the list of these references comes from Django's app
registry and SHARED_APPS/TENANT_APPS, never from the catalog: an export names the public rows they point at, an
import re-links them, the Citus plan makes their targets reference tables, and a test keeps every one of them
unconstrained.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.apps import AppConfig, apps
from django.conf import settings
from django.db import models


class UnknownSchemaApp(Exception):
    """A tenant model points at a model whose app is in neither SHARED_APPS nor TENANT_APPS."""


@dataclass(frozen=True)
class Reference:
    """One column of a tenant table that holds the id of a public row."""

    source: str  # app_label.Model.field
    table: str  # the tenant table
    column: str
    nullable: bool
    target: str  # the public table
    constrained: bool  # the field asks for a database constraint (it must not)
    target_model: type[models.Model]


def _in_list(app_config: AppConfig, app_list: Iterable[str]) -> bool:
    """django-tenants' own rule: an app is listed by its module name or by the dotted path of its AppConfig."""
    names = set(app_list)
    full = f"{type(app_config).__module__}.{type(app_config).__name__}"
    return app_config.name in names or full in names


def schema_apps() -> tuple[set[str], set[str]]:
    """App labels whose tables live in tenant schemas, and those that live in the public schema only."""
    tenant: set[str] = set()
    public: set[str] = set()
    for app_config in apps.get_app_configs():
        if _in_list(app_config, settings.TENANT_APPS):
            tenant.add(app_config.label)  # in both lists: a tenant table resolves to its own schema's copy
        elif _in_list(app_config, settings.SHARED_APPS):
            public.add(app_config.label)
    return tenant, public


def tables(app_labels: Iterable[str]) -> list[type[models.Model]]:
    """Concrete, managed models of those apps, auto-created many-to-many tables included."""
    found = []
    for label in sorted(app_labels):
        for model in apps.get_app_config(label).get_models(include_auto_created=True):
            if model._meta.managed and not model._meta.proxy:
                found.append(model)
    return found


def foreign_keys(model: type[models.Model]) -> list[tuple[models.Field[Any, Any], type[models.Model]]]:
    """The model's own columns that point at another model (FK, one-to-one, parent links)."""
    out = []
    for field in model._meta.local_fields:
        related = field.related_model
        if field.is_relation and (field.many_to_one or field.one_to_one) and isinstance(related, type):
            out.append((field, related._meta.concrete_model or related))
    return out


def public_references() -> list[Reference]:
    """Every column of a tenant table that points at a public table, ordered by table and column."""
    tenant_apps, public_apps = schema_apps()
    found = []
    for model in tables(tenant_apps):
        for field, related in foreign_keys(model):
            label = related._meta.app_label
            if label in tenant_apps:
                continue
            source = f"{model._meta.label}.{field.name}"
            if label not in public_apps:
                raise UnknownSchemaApp(
                    f"{source} points at {related._meta.label}, whose app is in neither SHARED_APPS nor TENANT_APPS"
                )
            found.append(
                Reference(
                    source=source,
                    table=model._meta.db_table,
                    column=field.column,
                    nullable=bool(field.null),
                    target=related._meta.db_table,
                    constrained=bool(getattr(field, "db_constraint", False)),
                    target_model=related,
                )
            )
    return sorted(found, key=lambda r: (r.table, r.column))


def public_reference(to: Any, *, on_delete: Any, **options: Any) -> models.ForeignKey[Any, Any]:
    """A tenant table's column that holds the id of a public row: a ForeignKey for the ORM (joins, select_related,
    the collector inside the schema), with no database constraint and no index of its own (see the module's
    docstring; an index, where a lookup needs one, is a composite index of the model's)."""
    return models.ForeignKey(to, on_delete=on_delete, db_constraint=False, db_index=False, **options)


def person_reference() -> models.ForeignKey[Any, Any]:
    """Who did something in a workspace (created, was assigned, wrote, uploaded, acted): optional, and set to nothing
    if the account goes (by Django's collector, in the schema it runs in)."""
    return public_reference(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
