"""Citus schema-based sharding: which public tables must be reference tables, and making them so.

With `citus.enable_schema_based_sharding = on`, every new tenant schema becomes a distributed schema placed whole on
one worker. A query there may join only its own schema's tables and *reference tables* (public tables copied to every
node): the product's pages join a project to the user who created it, a grant to its permission. So, before the
first tenant schema is created, every public table a tenant model points at (`tenants.references`; those columns
carry no database constraint) must be a reference table, and so must every table those point at in turn (a
reference table's own foreign keys may only point at reference tables).

`plan_derive` reads that list from the model metadata (the apps of SHARED_APPS and TENANT_APPS in Django's app
registry), never from a hand-written list, so a new foreign key from a tenant model is in the plan the day it is
written. `coordinator_state` reads what the database is (a Citus coordinator or not, which public tables are already
reference tables); `prepare` sends `create_reference_table` for the missing ones, one transaction each, referenced
tables first; `missing` is what `--check` reports.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction

from shared_apps.core.sql import literal, quote
from tenants.db import connection
from tenants.models import PUBLIC_SCHEMA
from tenants.references import UnknownSchemaApp, foreign_keys, public_references, schema_apps


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


def plan_derive() -> Plan:
    """Every public table a tenant model points at (FK, one-to-one, many-to-many through tables), and transitively
    every public table those point at, from Django's app registry and SHARED_APPS/TENANT_APPS."""
    tenant_apps, public_apps = schema_apps()
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

    try:
        from_tenants = public_references()
    except UnknownSchemaApp as exc:
        raise PlanError(str(exc)) from exc
    for ref in from_tenants:
        edges.append(Edge(ref.source, ref.table, ref.target, from_tenant=True))
        public_models[ref.target] = ref.target_model

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
        for field, related in foreign_keys(model):
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
