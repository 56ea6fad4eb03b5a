"""`manage.py seed_demo`: the public tenant, a `demo` workspace with an owner, and an operator. Idempotent.

In development (`make run`) the accounts get the published demo password printed below. Anywhere `DEBUG` is off (the
production settings, the compose stack's opt-in `demo` profile) the published password is never used: each new
account gets a random one, printed once, and an existing account's password is left alone.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from billing.services import BillingError, trial_start
from shared_apps.accounts.selectors import user_get_by_email
from shared_apps.accounts.services import operator_ensure
from shared_apps.accounts.validators import DEMO_PASSWORD
from shared_apps.workspaces.services import workspace_create
from tenants import selectors
from tenants.errors import TenantNotFound
from tenants.links import public_path
from tenants.models import Tenant
from tenants.services import public_tenant_ensure

DEMO_SLUG = "demo"
DEMO_EMAIL = "owner@demo.localhost"
OPERATOR_EMAIL = "operator@demo.localhost"


def _password_for(email: str) -> str | None:
    """The password a new demo account gets (None: the account exists, its password stays)."""
    if user_get_by_email(email=email) is not None:
        return None
    return DEMO_PASSWORD if settings.DEBUG else secrets.token_urlsafe(18)


class Command(BaseCommand):
    def _trial(self, tenant: Tenant) -> None:
        """The demo shows a trial in progress (started here if signup's task could not, e.g. Stripe was down)."""
        try:
            account = trial_start(tenant=tenant)
        except BillingError as exc:
            self.stderr.write(f"Billing: the demo's trial could not start ({exc.message}).")
            return
        self.stdout.write(
            f"Billing: demo on {account.plan or 'no plan'} ({account.status}), trial ends {account.trial_end}"
        )

    help = "Create the public tenant and the demo workspace (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        public_tenant_ensure()
        owner_password = _password_for(DEMO_EMAIL)
        try:
            tenant = selectors.tenant_get_by_slug(slug=DEMO_SLUG)
            self.stdout.write(f"Demo workspace exists: {tenant.name}")
        except TenantNotFound:
            tenant, _ = workspace_create(
                slug=DEMO_SLUG, name="Demo", owner_email=DEMO_EMAIL, owner_password=owner_password
            )
            self.stdout.write(self.style.SUCCESS("Created the demo workspace."))
        self._trial(tenant)
        operator_password = _password_for(OPERATOR_EMAIL)
        # An existing account keeps its password (user_get_or_create sets one only on a new account).
        operator_ensure(email=OPERATOR_EMAIL, password=operator_password or secrets.token_urlsafe(18))
        url = selectors.tenant_url(selectors.host_for_slug(DEMO_SLUG))
        unchanged = "(existing account, password unchanged)"
        admin_url = selectors.root_url() + public_path("admin:index")
        self.stdout.write(
            f"\n  Public site:  {selectors.root_url()}/\n  Demo:         {url}/\n"
            f"  Sign in as:   {DEMO_EMAIL} / {owner_password or unchanged}\n"
            f"  Operators:    {admin_url}  as {OPERATOR_EMAIL} / {operator_password or unchanged}\n"
            "                (operators need two-factor authentication: the admin asks for an authenticator app)\n"
        )
