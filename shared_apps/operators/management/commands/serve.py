"""`manage.py serve` (what `make run` starts): Django's development server, whose start-up message is the addresses
to open (the public site, the demo workspace, the operators' admin) instead of the bare 127.0.0.1 address it listens
on, which is no workspace's host. Without a broker it also sweeps for webhook retries that are due (no beat runs)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.staticfiles.management.commands.runserver import Command as RunserverCommand

from shared_apps.operators.management.commands.seed_demo import DEMO_SLUG
from tenant_apps.webhooks.sending import retries_sweeper_start
from tenants import selectors
from tenants.links import public_path


class Command(RunserverCommand):
    help = "Run the development server and print the addresses to open."

    def inner_run(self, *args: Any, **options: Any) -> None:
        # Without a broker nothing else retries failed webhook deliveries: the serving process sweeps for them.
        retries_sweeper_start()
        super().inner_run(*args, **options)

    def on_bind(self, server_port: int) -> None:
        root = selectors.root_url()
        demo = selectors.tenant_url(selectors.host_for_slug(DEMO_SLUG))
        admin = root + public_path("admin:index")
        mail = getattr(settings, "EMAIL_FILE_PATH", "")
        lines = [
            "",
            f"Atrium is running (development server on {getattr(self, 'addr', '')}:{server_port}, "
            "not for production). Open:",
            f"  Public site:  {root}/",
            f"  Demo:         {demo}/",
            f"  Operators:    {admin}",
        ]
        if mail and settings.EMAIL_BACKEND.endswith("SummaryEmailBackend"):
            lines.append(f"Emails: one line each below; the messages themselves are in {mail}/.")
        lines.append("Quit with CONTROL-C.")
        self.stdout.write("\n".join(lines))
