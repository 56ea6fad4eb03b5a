"""Every model's admin, registered on the operators' site when Django's admin discovers this app: people (accounts,
the keys to accounts, groups; `users`: accounts as operators act on them), workspaces (tenants and their events),
the operators' records (`records`: the operator log, impersonations) and billing. What every operator action shares
in `actions`; read-only helpers in `readonly`."""

from shared_apps.operators.admin import billing, people, records, users, workspaces

__all__ = ["billing", "people", "records", "users", "workspaces"]
