"""django-tenants and Atrium's tenancy core: URLconfs per host, routing, provisioning and lifecycle, migrations."""

from __future__ import annotations

from config.env import BASE_DIR, env

TENANT_MODEL = "tenants.Tenant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_URLCONF = "config.urls_public"
ROOT_URLCONF = "config.urls_tenants"
# Inside migrations (the only place Atrium still sets a server-side search_path: connection.schema_session()), issue
# `SET search_path` only when the schema changes. Requests, tasks and commands set nothing: statements name their
# schema.
TENANT_LIMIT_SET_CALLS = True
TENANT_COLOR_ADMIN_APPS = False
SHOW_PUBLIC_IF_NO_TENANT_FOUND = False

# Routing (tenants.routing): a Tenant/Domain change reaches every process within TENANT_ROUTING_LOCAL_TTL seconds
# (each process reads the shared route feed that often); routes stay in a process's own LRU (at most
# TENANT_ROUTING_LOCAL_MAX) and in the shared cache for TENANT_ROUTING_SHARED_TTL seconds.
TENANT_ROUTING_LOCAL_TTL: float = env.float("TENANT_ROUTING_LOCAL_TTL", default=2.0)
TENANT_ROUTING_LOCAL_MAX: int = env.int("TENANT_ROUTING_LOCAL_MAX", default=16_384)
TENANT_ROUTING_SHARED_TTL: int = env.int("TENANT_ROUTING_SHARED_TTL", default=300)

# Provisioning and lifecycle (tenants.provisioning, tenants.services).
# Spare, fully migrated tenants kept ready for signup (0 disables the warm pool).
TENANT_POOL_SIZE: int = env.int("TENANT_POOL_SIZE", default=5)
# The schema the fast path copies; `migrate_schemas` migrates it with every tenant (it is a Tenant row).
TENANT_TEMPLATE_SCHEMA: str = env.str("TENANT_TEMPLATE_SCHEMA", default="tenant_template")
# Days a workspace scheduled for deletion can be restored before it is purged.
TENANT_DELETION_GRACE_DAYS: int = env.int("TENANT_DELETION_GRACE_DAYS", default=30)
# Days an old subdomain keeps redirecting to the new one after a rename.
TENANT_RENAME_REDIRECT_DAYS: int = env.int("TENANT_RENAME_REDIRECT_DAYS", default=30)
# Where `manage.py tenant export` writes archives when no --output is given.
TENANT_EXPORT_DIR: str = env.str("TENANT_EXPORT_DIR", default=str(BASE_DIR / ".data" / "exports"))
# `tenant import` refuses an archive larger than this uncompressed (dump and files), or whose dump has a longer line,
# counted while it is read and before anything is written.
TENANT_IMPORT_MAX_BYTES: int = env.int("TENANT_IMPORT_MAX_BYTES", default=100 * 1024**3)
TENANT_IMPORT_LINE_MAX_BYTES: int = env.int("TENANT_IMPORT_LINE_MAX_BYTES", default=8 * 1024**2)
# `migrate_schemas` runs through tenants.schema_migrate: up-to-date schemas are recognised in bulk from their recorded
# migrations, and a plan is built once per group of identical schemas and replayed into each, in parallel.
GET_EXECUTOR_FUNCTION = "tenants.schema_migrate.get_executor"
TENANT_MULTIPROCESSING_MAX_PROCESSES: int = env.int("TENANT_MULTIPROCESSING_MAX_PROCESSES", default=2)
