"""The Celery application. Tasks are declared in the apps with `celery.shared_task` and bound here; every task runs
in the schema of the tenant that enqueued it (tenant-schemas-celery, see `shared_apps.core.tasks`).

Tasks run eagerly in-process (CELERY_TASK_ALWAYS_EAGER) only under the test settings and the local ones
without REDIS_URL; production requires a broker.
"""

from __future__ import annotations

import os

from tenant_schemas_celery.app import CeleryApp

import shared_apps.core.tasks  # noqa: F401  (carries the request context into tasks)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = CeleryApp("atrium")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
