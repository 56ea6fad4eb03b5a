"""`manage.py billing sync-plans | sync-customer CUSTOMER | dunning-check | seats-sync-due | drift-check`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from billing import services, stripe_client


class Command(BaseCommand):
    help = "Billing: create/update Stripe products and prices from the plans, and run billing's scheduled work."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="command", required=True)
        sub.add_parser("sync-plans", help="create or update the plans' products and prices at Stripe (idempotent)")
        customer = sub.add_parser("sync-customer", help="read one customer back from Stripe")
        customer.add_argument("customer_id")
        sub.add_parser("dunning-check", help="make past-due workspaces read-only once their grace period is over")
        sub.add_parser("seats-sync-due", help="push due seat counts to Stripe")
        sub.add_parser("drift-check", help="compare every subscription's seats with Stripe and log differences")

    def handle(self, *args: Any, **options: Any) -> None:
        command = options["command"]
        try:
            if command == "sync-plans":
                result = services.plans_sync()
                where = "the local Stripe server" if stripe_client.is_local() else "Stripe"
                self.stdout.write(
                    f"Plans synced to {where} ({stripe_client.api_base()}): "
                    f"{len(result.created)} price(s) created, {len(result.unchanged)} unchanged."
                )
                self.stdout.write(f"Customer Portal configuration: {result.portal_configuration}")
            elif command == "sync-customer":
                sync = services.customer_sync(customer_id=options["customer_id"])
                self.stdout.write(f"tenant {sync.tenant_id}: {sync.changes or 'no change'} {sync.note}")
            elif command == "dunning-check":
                self.stdout.write(f"{services.dunning_check()} past-due workspace(s) checked.")
            elif command == "seats-sync-due":
                self.stdout.write(f"{services.seats_sync_due()} seat count(s) pushed.")
            elif command == "drift-check":
                drifts = services.seats_drift_check()
                self.stdout.write(f"{len(drifts)} drift(s): {drifts}")
        except stripe_client.StripeError as exc:
            raise CommandError(f"Stripe refused or did not answer: {exc.user_message or exc}") from exc
        except services.BillingError as exc:
            raise CommandError(exc.message) from exc
