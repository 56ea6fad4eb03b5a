"""`manage.py tenant <subcommand>`: create, list, suspend, resume and delete workspaces.

Bad input (an invalid or taken subdomain, an unknown tenant) prints one clear line on stderr and exits with code 2;
nothing is half-created.
"""

from __future__ import annotations

import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from shared_apps.core.errors import ApplicationError
from tenants import selectors, services


class Command(BaseCommand):
    help = "Create, list, suspend, resume and delete tenants (workspaces)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{create,list,suspend,resume,delete}")

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
                p.add_argument("--reason", default="")

        delete = sub.add_parser("delete", help="Delete a workspace and all its data now.")
        delete.add_argument("slug")
        delete.add_argument("--yes", action="store_true", help="Do not ask for confirmation.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, "_" + options["action"])(options)
        except ApplicationError as exc:
            raise CommandError(exc.message, returncode=2) from exc

    def _create(self, options: dict[str, Any]) -> None:
        password = options["password"]
        generated = None
        if password is None:
            from django.utils.crypto import get_random_string

            generated = password = get_random_string(16)
        tenant, owner = services.tenant_create(
            slug=options["slug"], name=options["name"], owner_email=options["owner_email"], owner_password=password
        )
        host = selectors.host_for_slug(options["slug"].strip().lower())
        self.stdout.write(self.style.SUCCESS(f"Created {tenant.name}: {selectors.tenant_url(host)}/"))
        if generated and owner.has_usable_password() and owner.check_password(generated):
            self.stdout.write(f"Owner {owner.email}, password: {generated}")
        else:
            self.stdout.write(f"Owner {owner.email} (existing account)")

    def _list(self, options: dict[str, Any]) -> None:
        rows = [("SLUG", "NAME", "STATUS", "MEMBERS", "CREATED")]
        for tenant in selectors.tenant_list():
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
        services.tenant_suspend(tenant=tenant, acting_user=None, reason=options["reason"])
        self.stdout.write(self.style.SUCCESS(f"Suspended {tenant.name}."))

    def _resume(self, options: dict[str, Any]) -> None:
        tenant = selectors.tenant_get_by_slug(slug=options["slug"])
        services.tenant_resume(tenant=tenant, acting_user=None)
        self.stdout.write(self.style.SUCCESS(f"Resumed {tenant.name}."))

    def _delete(self, options: dict[str, Any]) -> None:
        tenant = selectors.tenant_get_by_slug(slug=options["slug"])
        if not options["yes"]:
            if not sys.stdin.isatty():
                raise CommandError("Refusing to delete without confirmation: pass --yes.", returncode=2)
            answer = input(
                f"Delete {tenant.name} ({options['slug']}) and ALL its data? This cannot be undone. "
                f"Type the subdomain to confirm: "
            )
            if answer.strip() != options["slug"]:
                raise CommandError("Not confirmed; nothing was deleted.", returncode=2)
        services.tenant_delete(tenant=tenant, acting_user=None)
        self.stdout.write(self.style.SUCCESS(f"Deleted {tenant.name} and its schema."))
