"""`manage.py storage <subcommand>`: the bytes each workspace stores, drift correction, unfinished purges."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from shared_apps.core.errors import ApplicationError
from shared_apps.core.l10n import size_text
from shared_apps.storage import accounting, purge
from shared_apps.storage.models import StorageUsage


class Command(BaseCommand):
    help = "Workspace storage: usage per prefix, reconcile it with what is stored, resume unfinished purges."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{usage,reconcile,resume-purges}")
        sub.add_parser("usage", help="Bytes and files each workspace prefix holds, as accounted.")
        reconcile = sub.add_parser("reconcile", help="List prefixes and correct the accounting (drift is logged).")
        reconcile.add_argument("prefix", nargs="*", help="Schema names (default: every workspace with files).")
        sub.add_parser("resume-purges", help="Finish purges of deleted workspaces that were interrupted.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, "_" + options["action"].replace("-", "_"))(options)
        except ApplicationError as exc:
            raise CommandError(exc.message, returncode=2) from exc

    def _usage(self, options: dict[str, Any]) -> None:
        for row in StorageUsage.objects.order_by("prefix"):
            reserved = f" + {size_text(row.reserved_bytes)} uploading" if row.reserved_bytes else ""
            self.stdout.write(f"{row.prefix}  {size_text(row.committed_bytes)}{reserved}  {row.object_count} objects")

    def _reconcile(self, options: dict[str, Any]) -> None:
        for prefix in options["prefix"] or accounting.prefixes_with_usage():
            drift = accounting.reconcile(prefix)
            if drift.drifted:
                self.stdout.write(
                    self.style.WARNING(
                        f"{prefix}: corrected {drift.committed_before} → {drift.committed_after} bytes, "
                        f"{drift.objects_before} → {drift.objects_after} objects"
                    )
                )
            else:
                self.stdout.write(f"{prefix}: exact ({drift.committed_after} bytes, {drift.objects_after} objects)")

    def _resume_purges(self, options: dict[str, Any]) -> None:
        pending = purge.purges_unfinished()
        if not pending:
            self.stdout.write("No unfinished purge.")
        for prefix in pending:

            def progress(done: purge.PurgeProgress, prefix: str = prefix) -> None:
                self.stdout.write(f"\r{prefix}: {done.objects} objects, {size_text(done.bytes)} deleted", ending="")
                self.stdout.flush()

            result = purge.purge_run(prefix, progress=progress)
            self.stdout.write("")
            if result is None:
                self.stdout.write(f"{prefix}: another process is purging it.")
