"""`manage.py citus prepare [--check]`: make the public tables tenant schemas point at Citus reference tables.

Run once on the coordinator after `migrate_schemas --shared` and before the first tenant schema is created (and again
after a migration adds a foreign key from a tenant model to a public table). Prints the plan derived from the models;
on a Citus coordinator, converts the missing tables. `--check` converts nothing and exits with code 1 when a tenant
model points at a public table that is not a reference table; on plain PostgreSQL it prints the plan and says so.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from tenants import citus


class Command(BaseCommand):
    verbosity = 1
    help = "Citus schema-based sharding: make the public tables tenant tables reference into reference tables."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{prepare}")
        prepare = sub.add_parser("prepare", help="Print the plan; on a Citus coordinator, create the reference tables.")
        prepare.add_argument(
            "--check", action="store_true", help="Change nothing; exit 1 if a needed reference table is missing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.verbosity = int(options["verbosity"])
        try:
            plan = citus.plan_derive()
        except citus.PlanError as exc:
            raise CommandError(f"cannot derive the plan: {exc}") from exc
        state = citus.coordinator_state()
        self._print_plan(plan, state)
        if not state.is_citus:
            self.stdout.write("not a Citus coordinator (no citus extension): nothing to convert.")
            return
        if options["check"]:
            self._check(plan, state)
            return

        def progress(done: int, total: int, table: str) -> None:
            self.stdout.write(f"  [{done}/{total}] public.{table} is a reference table")

        converted = citus.prepare(plan, progress=progress, state=state)
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(converted)} table(s) converted, {len(plan.tables) - len(converted)} already reference tables."
            )
        )

    def _print_plan(self, plan: citus.Plan, state: citus.CoordinatorState) -> None:
        where = f"Citus {state.version} coordinator" if state.is_citus else "plain PostgreSQL"
        self.stdout.write(f"Reference tables needed by tenant schemas ({len(plan.tables)}, on {where}):")
        for table in plan.tables:
            mark = "ok  " if table in state.reference_tables else ("todo" if state.is_citus else "    ")
            self.stdout.write(f"  {mark} public.{table}")
            if self.verbosity >= 2:
                for edge in plan.reasons(table):
                    self.stdout.write(f"         ← {edge.source}")

    def _check(self, plan: citus.Plan, state: citus.CoordinatorState) -> None:
        gaps = citus.missing(plan, state)
        if gaps:
            lines = "\n".join(f"  {edge}" for edge in gaps)
            raise CommandError(
                f"{len(gaps)} foreign key(s) point at public tables that are not reference tables "
                f"(run `manage.py citus prepare`):\n{lines}"
            )
        self.stdout.write(self.style.SUCCESS("every public table tenant schemas point at is a reference table."))
