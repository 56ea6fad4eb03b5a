from django.apps import AppConfig


class WorkspacesConfig(AppConfig):
    """The orchestration layer: the one place that combines the tenancy core, accounts, the audit log, the product
    (and billing) in one transaction: creating a workspace with its owner, its lifecycle, and the operators' admin."""

    name = "shared_apps.workspaces"
    label = "workspaces"
    verbose_name = "Workspaces"
