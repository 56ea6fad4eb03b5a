from django.apps import AppConfig


class BillingConfig(AppConfig):
    """Plans, subscriptions and Stripe (public schema)."""

    name = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        from billing import entitlements, receivers  # noqa: PLC0415  (registered once the app registry is ready)
        from shared_apps.accounts import hooks  # noqa: PLC0415  (as above)

        # The plan decides the seats (accounts asks through its hook), and seat changes are pushed to Stripe.
        hooks.seat_limit_source_set(entitlements.seat_limit)
        hooks.seats_changed.connect(receivers.on_seats_changed, dispatch_uid="billing.seats_changed")
