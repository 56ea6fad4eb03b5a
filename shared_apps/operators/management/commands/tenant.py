"""`manage.py tenant <subcommand>`: create, list and manage workspaces through their lifecycle, and the warm pool.

Bad input (an invalid or taken subdomain, an unknown tenant) prints one clear line on stderr and exits with code 2;
nothing is half-created.
"""

from __future__ import annotations

import sys
import time
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.crypto import get_random_string

from shared_apps.accounts.selectors import user_get_by_email
from shared_apps.core.errors import ApplicationError
from shared_apps.core.l10n import size_text
from shared_apps.storage import purge as storage_purge
from shared_apps.workspaces import selectors as workspace_selectors
from shared_apps.workspaces import services
from shared_apps.workspaces.metrics import metrics_refresh
from tenants import provisioning, selectors
from tenants import services as tenancy

ACTIONS = (
    "create",
    "list",
    "suspend",
    "resume",
    "delete",
    "rename-subdomain",
    "add-domain",
    "remove-domain",
    "schedule-deletion",
    "restore",
    "purge",
    "export",
    "import",
    "pool",
    "metrics",
)


class Command(BaseCommand):
    help = "Create, list and manage workspaces (tenants) through their lifecycle, and the warm pool of spares."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{" + ",".join(ACTIONS) + "}")

        create = sub.add_parser("create", help="Create a workspace with its owner and print its URL.")
        create.add_argument("--slug", required=True, help="Subdomain, e.g. acme for acme.<BASE_DOMAIN>.")
        create.add_argument("--name", required=True, help="Display name, e.g. 'Acme Inc'.")
        create.add_argument("--owner-email", required=True)
        create.add_argument("--password", help="Owner's password (new accounts only); random if omitted.")

        sub.add_parser("list", help="List workspaces.")

        for name, text in (("suspend", "Suspend a workspace."), ("resume", "Resume a suspended workspace.")):
            p = sub.add_parser(name, help=text)
            p.add_argument("slug")
            if name == "suspend":
                p.add_argument(
                    "--reason", default="", help="Shown to its owners only (on the suspension page) and logged."
                )

        delete = sub.add_parser("delete", help="Delete a workspace and all its data now.")
        delete.add_argument("slug")
        delete.add_argument("--yes", action="store_true", help="Do not ask for confirmation.")

        rename = sub.add_parser(
            "rename-subdomain", help="Move a workspace to a new subdomain; the old one redirects for a while."
        )
        rename.add_argument("slug")
        rename.add_argument("new_slug")

        add_domain = sub.add_parser("add-domain", help="Attach a custom domain to a workspace.")
        add_domain.add_argument("slug")
        add_domain.add_argument("domain")

        remove_domain = sub.add_parser("remove-domain", help="Detach a custom domain (or an old subdomain).")
        remove_domain.add_argument("slug")
        remove_domain.add_argument("domain")

        schedule = sub.add_parser(
            "schedule-deletion", help="Schedule a workspace for deletion after the grace period (restorable)."
        )
        schedule.add_argument("slug")
        schedule.add_argument("--reason", default="")

        restore = sub.add_parser("restore", help="Cancel a scheduled deletion.")
        restore.add_argument("slug")

        purge = sub.add_parser("purge", help="Purge a workspace scheduled for deletion now: schema, files, cache.")
        purge.add_argument("slug")
        purge.add_argument("--yes", action="store_true", help="Do not ask for confirmation.")

        export = sub.add_parser("export", help="Write an archive of a workspace: pg_dump of its schema + manifest.")
        export.add_argument("slug")
        export.add_argument(
            "--output", type=Path, help="Archive path (default: TENANT_EXPORT_DIR/<slug>-<time>.tar.gz)."
        )

        restore = sub.add_parser(
            "import",
            help="Restore an export archive into a new workspace (members re-linked by email, files copied).",
        )
        restore.add_argument("archive", type=Path, help="An archive written by `tenant export`.")
        restore.add_argument("--slug", required=True, help="Subdomain of the new workspace.")
        restore.add_argument("--name", help="Display name (default: the archived workspace's name).")

        metrics = sub.add_parser(
            "metrics", help="Refresh the operators' workspace metrics now (every schema, in bulk; progress shown)."
        )
        metrics.add_argument("--full", action="store_true", help="Re-read a year of activity, not just the last days.")

        pool = sub.add_parser("pool", help="Show or fill the warm pool of spare workspaces.")
        pool_sub = pool.add_subparsers(dest="pool_action", required=True, metavar="{status,fill}")
        pool_sub.add_parser("status", help="Spares ready, target size, and the template's state.")
        fill = pool_sub.add_parser("fill", help="Create spares up to the target size.")
        fill.add_argument("--size", type=int, help="Target number of spares (default TENANT_POOL_SIZE).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, "_" + options["action"].replace("-", "_"))(options)
        except ApplicationError as exc:
            raise CommandError(exc.message, returncode=2) from exc

    def _create(self, options: dict[str, Any]) -> None:
        password = options["password"]
        generated = None
        if password is None:
            generated = password = get_random_string(16)
        existed = user_get_by_email(email=options["owner_email"]) is not None
        tenant, owner = services.workspace_create(
            slug=options["slug"], name=options["name"], owner_email=options["owner_email"], owner_password=password
        )
        host = selectors.host_for_slug(options["slug"].strip().lower())
        self.stdout.write(self.style.SUCCESS(f"Created {tenant.name}: {selectors.tenant_url(host)}/"))
        if existed:
            self.stdout.write(f"Owner {owner.email} (existing account; its password is unchanged)")
        elif generated:
            self.stdout.write(f"Owner {owner.email} (new account), password: {generated}")
        else:
            self.stdout.write(f"Owner {owner.email} (new account, with the password given)")

    def _list(self, options: dict[str, Any]) -> None:
        rows = [("SLUG", "NAME", "STATUS", "MEMBERS", "CREATED")]
        for tenant in workspace_selectors.workspace_list():
            domains = list(tenant.domains.all())
            primary = next((d for d in domains if d.is_primary), domains[0] if domains else None)
            slug = (primary.slug or primary.domain) if primary else "—"
            created = timezone.localtime(tenant.created_at).strftime("%Y-%m-%d %H:%M")
            rows.append((slug, tenant.name, tenant.status, str(tenant.member_count), created))
        if len(rows) == 1:
            self.stdout.write(
                "No workspaces yet. Create one: manage.py tenant create --slug S --name N --owner-email E"
            )
            return
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            self.stdout.write("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())

    def _suspend(self, options: dict[str, Any]) -> None:
        tenant = selectors.tenant_get_by_slug(slug=options["slug"])
        services.workspace_suspend(tenant=tenant, acting_user=None, reason=options["reason"])
        self.stdout.write(self.style.SUCCESS(f"Suspended {tenant.name}."))

    def _resume(self, options: dict[str, Any]) -> None:
        tenant = selectors.tenant_get_by_slug(slug=options["slug"])
        services.workspace_resume(tenant=tenant, acting_user=None)
        self.stdout.write(self.style.SUCCESS(f"Resumed {tenant.name}."))

    def _confirm(self, options: dict[str, Any], question: str, verb: str) -> None:
        if options["yes"]:
            return
        if not sys.stdin.isatty():
            raise CommandError(f"Refusing to {verb} without confirmation: pass --yes.", returncode=2)
        answer = input(f"{question} This cannot be undone. Type the subdomain to confirm: ")
        if answer.strip() != options["slug"]:
            raise CommandError(f"Not confirmed; nothing was {verb}d.", returncode=2)

    def _delete(self, options: dict[str, Any]) -> None:
        tenant = selectors.tenant_get_by_slug(slug=options["slug"])
        self._confirm(options, f"Delete {tenant.name} ({options['slug']}) and ALL its data?", "delete")
        services.workspace_delete(tenant=tenant, acting_user=None)
        self.stdout.write(self.style.SUCCESS(f"Deleted {tenant.name} and its schema."))

    def _rename_subdomain(self, options: dict[str, Any]) -> None:
        tenant = selectors.tenant_get_by_slug(slug=options["slug"])
        domain = services.workspace_rename_subdomain(tenant=tenant, new_slug=options["new_slug"], acting_user=None)
        self.stdout.write(
            self.style.SUCCESS(
                f"{tenant.name} is now at {selectors.tenant_url(domain.domain)}/ ; "
                f"{selectors.host_for_slug(options['slug'].strip().lower())} redirects there for "
                f"{settings.TENANT_RENAME_REDIRECT_DAYS} days."
            )
        )

    def _add_domain(self, options: dict[str, Any]) -> None:
        tenant = selectors.tenant_get_by_slug(slug=options["slug"])
        domain = services.workspace_domain_add(tenant=tenant, domain=options["domain"], acting_user=None)
        self.stdout.write(self.style.SUCCESS(f"Added {domain.domain} to {tenant.name}."))

    def _remove_domain(self, options: dict[str, Any]) -> None:
        tenant = selectors.tenant_get_by_slug(slug=options["slug"])
        services.workspace_domain_remove(tenant=tenant, domain=options["domain"], acting_user=None)
        self.stdout.write(self.style.SUCCESS(f"Removed {options['domain'].strip().lower()} from {tenant.name}."))

    def _schedule_deletion(self, options: dict[str, Any]) -> None:
        tenant = selectors.tenant_get_by_slug(slug=options["slug"])
        tenant = services.workspace_schedule_deletion(tenant=tenant, acting_user=None, reason=options["reason"])
        when = timezone.localtime(tenant.deletion_scheduled_at).strftime("%Y-%m-%d %H:%M")
        self.stdout.write(
            self.style.SUCCESS(f"{tenant.name} is scheduled for deletion on {when} (restorable until then).")
        )

    def _restore(self, options: dict[str, Any]) -> None:
        tenant = selectors.tenant_get_by_slug(slug=options["slug"])
        tenant = services.workspace_restore(tenant=tenant, acting_user=None)
        self.stdout.write(self.style.SUCCESS(f"Restored {tenant.name} ({tenant.status})."))

    def _purge(self, options: dict[str, Any]) -> None:
        tenant = selectors.tenant_get_by_slug(slug=options["slug"])
        self._confirm(options, f"Purge {tenant.name} ({options['slug']}): its schema, files and cache?", "purge")
        started = time.monotonic()

        def progress(done: storage_purge.PurgeProgress) -> None:
            width = 30
            share = done.bytes / done.expected_bytes if done.expected_bytes else 1.0
            filled = int(width * min(share, 1.0))
            elapsed = max(time.monotonic() - started, 1e-6)
            bar = "#" * filled + "-" * (width - filled)
            self.stdout.write(
                f"\r[{bar}] files: {done.objects} deleted, {size_text(done.bytes)} "
                f"of ~{size_text(done.expected_bytes)}  {done.objects / elapsed:.0f}/s",
                ending="",
            )
            self.stdout.flush()

        services.workspace_purge(tenant=tenant, acting_user=None, progress=progress)
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Purged {tenant.name}: schema, files and cache entries are gone."))

    def _export(self, options: dict[str, Any]) -> None:
        tenant = selectors.tenant_get_by_slug(slug=options["slug"])
        archive = services.workspace_export(tenant=tenant, acting_user=None, output=options["output"])
        self.stdout.write(self.style.SUCCESS(f"Exported {tenant.name} to {archive}"))

    def _import(self, options: dict[str, Any]) -> None:
        def progress(line: str) -> None:
            self.stdout.write(line)
            self.stdout.flush()

        result = services.workspace_import(
            archive=options["archive"], slug=options["slug"], name=options["name"], progress=progress
        )
        host = selectors.host_for_slug(options["slug"].strip().lower())
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {result.tenant.name} at {selectors.tenant_url(host)}/ : {result.rows} rows, "
                f"{result.files} file(s) ({size_text(result.files_bytes)}), {len(result.members)} member(s) "
                f"re-linked, {len(result.invited)} invited."
            )
        )

    def _metrics(self, options: dict[str, Any]) -> None:

        def progress(done: int, total: int) -> None:
            self.stdout.write(f"\r{done}/{total} workspaces", ending="\n" if done == total else "")
            self.stdout.flush()

        result = metrics_refresh(full=options["full"], progress=progress)
        if result.skipped:
            self.stdout.write("Another metrics refresh is running; try again when it is done.")
            return
        line = (
            f"Refreshed the metrics of {result.workspaces} workspace(s) in {result.seconds:.1f} s "
            f"({result.statements} statements, activity since {result.since})."
        )
        if result.failed:
            raise CommandError(f"{line} Could not read: {', '.join(result.failed)}.", returncode=1)
        self.stdout.write(self.style.SUCCESS(line))

    def _pool(self, options: dict[str, Any]) -> None:
        if options["pool_action"] == "status":
            status = provisioning.pool_status()
            template = status.template or "missing (created by the first fill or signup)"
            state = "up to date" if status.template_current else "behind the code: run migrate_schemas"
            self.stdout.write(f"Spares:   {status.current} ready of {status.target} wanted")
            if status.stale:
                self.stdout.write(f"Stale:    {len(status.stale)} behind the code ({', '.join(status.stale)})")
            self.stdout.write(f"Template: {template}" + (f" ({state})" if status.template else ""))
            return
        size = options["size"]
        if size is not None and size < 0:
            raise CommandError("--size cannot be negative.", returncode=2)
        started = time.monotonic()

        def progress(done: int, total: int) -> None:
            width = 30
            filled = int(width * done / total) if total else width
            elapsed = time.monotonic() - started
            rate = done / elapsed if elapsed > 0 else 0.0
            bar = "#" * filled + "-" * (width - filled)
            end = "\n" if done == total else ""
            self.stdout.write(f"\r[{bar}] {done}/{total} spares  {rate:.1f}/s", ending=end)
            self.stdout.flush()

        result = tenancy.pool_fill(size=size, progress=progress)
        if result.skipped:
            self.stdout.write(f"Another process is filling the pool; {result.spares} spares now.")
            return
        line = f"Created {result.created} spare(s); the pool holds {result.spares}."
        if result.failed:
            raise CommandError(f"{line} {result.failed} could not be created (see the log).", returncode=1)
        self.stdout.write(self.style.SUCCESS(line))
