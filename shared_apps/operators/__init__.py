"""The operators' console: the face platform operators use on the root domain (the admin site and its dashboard,
every model's admin, impersonation's pages and middleware, the `tenant`, `seed_demo`, `serve` and `citus` commands).

It sits above the orchestration layer (`shared_apps.workspaces`) and calls its services; nothing imports it but the
URLconfs and the settings (an import-linter contract).
"""
