"""Celery application. Every task runs in the schema of the tenant that enqueued it (tenant-schemas-celery).

Tasks that work on tenant data derive from `TenantScopedTask`: enqueued outside a tenant, they are refused rather
than run against the public schema. Tasks run eagerly in-process (CELERY_TASK_ALWAYS_EAGER) only under the test settings
and the local ones without REDIS_URL; production requires a broker.
"""

from __future__ import annotations

import os
from typing import Any

from tenant_schemas_celery.app import CeleryApp
from tenant_schemas_celery.task import TenantTask

from tenants.db import connection

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")


class TenantRequired(RuntimeError):
    pass


class TenantScopedTask(TenantTask):
    abstract = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if connection.schema_name == "public":
            raise TenantRequired(f"Task {self.name} works on a tenant's data and was enqueued outside any tenant.")
        return super().__call__(*args, **kwargs)


app = CeleryApp("atrium")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
