from django.apps import AppConfig


class BillingConfig(AppConfig):
    """Plans, subscriptions and Stripe (public schema). Models arrive with the billing issue."""

    name = "billing"
    verbose_name = "Billing"
