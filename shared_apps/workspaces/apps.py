from django.apps import AppConfig


class WorkspacesConfig(AppConfig):
    """The orchestration layer: the one place that combines the tenancy core, accounts, the audit log, the product
    and billing in one transaction: creating a workspace with its owner, its lifecycle, the state its subscription
    calls for, and the operators' admin."""

    name = "shared_apps.workspaces"
    label = "workspaces"
    verbose_name = "Workspaces"

    def ready(self) -> None:
        from billing.signals import subscription_synced  # noqa: PLC0415  (registered once the app registry is ready)
        from shared_apps.workspaces import receivers  # noqa: PLC0415  (as above)

        subscription_synced.connect(receivers.on_subscription_synced, dispatch_uid="workspaces.billing_state")
