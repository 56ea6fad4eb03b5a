"""Every model's admin, registered on the operators' site when Django's admin discovers this app: people (accounts,
the keys to accounts, groups), workspaces (tenants, their events, users as operators see them, the operator log,
impersonations) and billing. Read-only helpers in `readonly`."""

from shared_apps.operators.admin import billing, people, workspaces

__all__ = ["billing", "people", "workspaces"]
