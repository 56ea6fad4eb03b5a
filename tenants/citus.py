"""Citus schema-based sharding: which public tables must be reference tables, and making them so.

With `citus.enable_schema_based_sharding = on`, every new tenant schema becomes a distributed schema placed whole on
one worker. A table there may reference only its own schema or a *reference table* (a public table copied to every
node): a foreign key to a plain public table fails with "referenced table must be a distributed table or a reference
table". So, before the first tenant schema is created, every public table a tenant model points at must be a
reference table, and so must every table those point at in turn (a reference table's own foreign keys may only point
at reference tables).

`plan_derive` reads that list from the model metadata (the apps of SHARED_APPS and TENANT_APPS in Django's app
registry), never from a hand-written list, so a new foreign key from a tenant model is in the plan the day it is
written. `coordinator_state` reads what the database is (a Citus coordinator or not, which public tables are already
reference tables); `prepare` sends `create_reference_table` for the missing ones, one transaction each, referenced
tables first; `missing` is what `--check` reports.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.apps import AppConfig, apps
from django.conf import settings
from django.db import models, transaction

from shared_apps.core.sql import literal, quote
from tenants.db import connection
from tenants.models import PUBLIC_SCHEMA


class PlanError(Exception):
    """The plan cannot be derived from the models (a tenant model points at a model of no known schema)."""


@dataclass(frozen=True)
class Edge:
    """A foreign key that needs its target to be a reference table: `source` (app_label.Model.field) → `table`."""

    source: str
    source_table: str
    table: str
    from_tenant: bool  # False: the source is itself a public table that had to become a reference table

    def __str__(self) -> str:
        origin = "tenant" if self.from_tenant else "reference"
        return f"{self.source} ({origin} table {self.source_table}) → public.{self.table}"


@dataclass(frozen=True)
class Plan:
    """Public tables to make reference tables, referenced tables before the tables that reference them."""

    tables: tuple[str, ...]
    edges: tuple[Edge, ...]

    def reasons(self, table: str) -> list[Edge]:
        return [edge for edge in self.edges if edge.table == table]


@dataclass(frozen=True)
class CoordinatorState:
    is_citus: bool
    version: str | None
    reference_tables: frozenset[str]  # public tables that are reference tables already


def _in_list(app_config: AppConfig, app_list: Iterable[str]) -> bool:
    """django-tenants' own rule: an app is listed by its module name or by the dotted path of its AppConfig."""
    names = set(app_list)
    full = f"{type(app_config).__module__}.{type(app_config).__name__}"
    return app_config.name in names or full in names


def _schema_apps() -> tuple[set[str], set[str]]:
    """App labels whose tables live in tenant schemas, and those that live in the public schema only."""
    tenant: set[str] = set()
    public: set[str] = set()
    for app_config in apps.get_app_configs():
        if _in_list(app_config, settings.TENANT_APPS):
            tenant.add(app_config.label)  # in both lists: a tenant table resolves to its own schema's copy
        elif _in_list(app_config, settings.SHARED_APPS):
            public.add(app_config.label)
    return tenant, public


def _tables(app_labels: Iterable[str]) -> list[type[models.Model]]:
    """Concrete, managed models of those apps, auto-created many-to-many tables included."""
    found = []
    for label in sorted(app_labels):
        for model in apps.get_app_config(label).get_models(include_auto_created=True):
            if model._meta.managed and not model._meta.proxy:
                found.append(model)
    return found


def _foreign_keys(model: type[models.Model]) -> list[tuple[models.Field[Any, Any], type[models.Model]]]:
    """The model's own columns that point at another model (FK, one-to-one, parent links)."""
    out = []
    for field in model._meta.local_fields:
        related = field.related_model
        if field.is_relation and (field.many_to_one or field.one_to_one) and isinstance(related, type):
            out.append((field, related._meta.concrete_model or related))
    return out


def plan_derive() -> Plan:
    """Every public table a tenant model points at (FK, one-to-one, many-to-many through tables), and transitively
    every public table those point at, from Django's app registry and SHARED_APPS/TENANT_APPS."""
    tenant_apps, public_apps = _schema_apps()
    edges: list[Edge] = []
    public_models: dict[str, type[models.Model]] = {}

    def target_of(source: str, related: type[models.Model]) -> str | None:
        label = related._meta.app_label
        if label in tenant_apps:
            return None
        if label not in public_apps:
            raise PlanError(
                f"{source} points at {related._meta.label}, whose app is in neither SHARED_APPS nor TENANT_APPS"
            )
        table = related._meta.db_table
        public_models[table] = related
        return table

    for model in _tables(tenant_apps):
        for field, related in _foreign_keys(model):
            source = f"{model._meta.label}.{field.name}"
            table = target_of(source, related)
            if table is not None:
                edges.append(Edge(source, model._meta.db_table, table, from_tenant=True))

    # Transitively: a reference table's own foreign keys must point at reference tables.
    seen: set[str] = set()
    queue = sorted(public_models)
    depends: dict[str, set[str]] = {}
    while queue:
        table = queue.pop(0)
        if table in seen:
            continue
        seen.add(table)
        depends[table] = set()
        model = public_models[table]
        for field, related in _foreign_keys(model):
            source = f"{model._meta.label}.{field.name}"
            target = target_of(source, related)
            if target is None:
                raise PlanError(f"{source}: a public table points at a tenant table ({related._meta.db_table})")
            if target != table:
                depends[table].add(target)
            edges.append(Edge(source, table, target, from_tenant=False))
            if target not in seen:
                queue.append(target)
    return Plan(tables=tuple(_dependencies_first(depends)), edges=tuple(edges))


def _dependencies_first(depends: dict[str, set[str]]) -> list[str]:
    """Tables ordered so that each comes after the tables it references (alphabetical among equals; a cycle, which
    Citus would refuse anyway, is broken alphabetically)."""
    order: list[str] = []
    done: set[str] = set()
    remaining = dict(depends)
    while remaining:
        ready = sorted(t for t, deps in remaining.items() if deps <= done)
        if not ready:
            ready = [min(remaining)]
        for table in ready:
            order.append(table)
            done.add(table)
            del remaining[table]
    return order


_STATE_SQL = "SELECT extversion FROM pg_extension WHERE extname = 'citus'"

# Reference tables: replicated to every node ('t'), not distributed by a column ('n'). Single-shard tables (a tenant
# schema's) and Citus-local tables also have partmethod 'n' but are not replicated.
_REFERENCE_TABLES_SQL = """
SELECT c.relname FROM pg_dist_partition p
  JOIN pg_class c ON c.oid = p.logicalrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = %s AND p.partmethod = 'n' AND p.repmodel = 't'
"""


def coordinator_state(cursor: Any | None = None) -> CoordinatorState:
    """Whether the database is a Citus coordinator (the extension is installed), and its reference tables."""
    if cursor is None:
        with connection.cursor() as own:
            return coordinator_state(own)
    cursor.execute(_STATE_SQL)
    row = cursor.fetchone()
    if row is None:
        return CoordinatorState(is_citus=False, version=None, reference_tables=frozenset())
    cursor.execute(_REFERENCE_TABLES_SQL, [PUBLIC_SCHEMA])
    return CoordinatorState(
        is_citus=True, version=row[0], reference_tables=frozenset(name for (name,) in cursor.fetchall())
    )


def missing(plan: Plan, state: CoordinatorState) -> list[Edge]:
    """The foreign keys (tenant → public, and reference → public) whose target is not a reference table yet."""
    return [edge for edge in plan.edges if edge.table not in state.reference_tables]


def statement_for(table: str) -> str:
    """The call that makes `public.<table>` a reference table (validated, quoted names only)."""
    return f"SELECT create_reference_table({literal(quote(PUBLIC_SCHEMA) + '.' + quote(table))})"


def statements(plan: Plan, state: CoordinatorState) -> list[tuple[str, str]]:
    """(table, SQL) for each table of the plan that is not a reference table yet, in the plan's order."""
    return [(table, statement_for(table)) for table in plan.tables if table not in state.reference_tables]


def prepare(
    plan: Plan, *, progress: Callable[[int, int, str], None] | None = None, state: CoordinatorState | None = None
) -> list[str]:
    """On a Citus coordinator, make every table of the plan a reference table (one transaction each, so a failure
    keeps the ones already done); the tables converted. Idempotent: existing reference tables are skipped."""
    state = state or coordinator_state()
    if not state.is_citus:
        raise PlanError("not a Citus coordinator (no citus extension in this database)")
    todo: Sequence[tuple[str, str]] = statements(plan, state)
    done: list[str] = []
    for i, (table, sql) in enumerate(todo, start=1):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
        done.append(table)
        if progress:
            progress(i, len(todo), table)
    return done
