"""`manage.py seed_demo`: the public tenant, a `demo` workspace with an owner, and an operator. Idempotent."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from shared_apps.accounts.services import operator_ensure
from shared_apps.workspaces.services import workspace_create
from tenants import selectors
from tenants.errors import TenantNotFound
from tenants.links import public_path
from tenants.services import public_tenant_ensure

DEMO_SLUG = "demo"
DEMO_EMAIL = "owner@demo.localhost"
DEMO_PASSWORD = "atrium-demo-password"  # noqa: S105  (a published development credential)
OPERATOR_EMAIL = "operator@demo.localhost"


class Command(BaseCommand):
    help = "Create the public tenant and the demo workspace (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        public_tenant_ensure()
        try:
            tenant = selectors.tenant_get_by_slug(slug=DEMO_SLUG)
            self.stdout.write(f"Demo workspace exists: {tenant.name}")
        except TenantNotFound:
            workspace_create(slug=DEMO_SLUG, name="Demo", owner_email=DEMO_EMAIL, owner_password=DEMO_PASSWORD)
            self.stdout.write(self.style.SUCCESS("Created the demo workspace."))
        operator_ensure(email=OPERATOR_EMAIL, password=DEMO_PASSWORD)
        url = selectors.tenant_url(selectors.host_for_slug(DEMO_SLUG))
        admin_url = selectors.root_url() + public_path("admin:index")
        self.stdout.write(
            f"\n  Public site:  {selectors.root_url()}/\n  Demo:         {url}/\n"
            f"  Sign in as:   {DEMO_EMAIL} / {DEMO_PASSWORD}\n"
            f"  Operators:    {admin_url}  as {OPERATOR_EMAIL} / {DEMO_PASSWORD}\n"
        )
