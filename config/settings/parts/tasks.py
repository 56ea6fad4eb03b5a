"""Celery: every task runs in the schema of the tenant that enqueued it (tenant-schemas-celery). Tasks go to the
broker; only the local and test settings run them eagerly in-process (local: when there is no broker)."""

from __future__ import annotations

from typing import Any

from config.env import env
from config.settings.parts.caches import REDIS_URL
from config.settings.parts.workspaces import METRICS_REFRESH_SECONDS

CELERY_BROKER_URL: str = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND: str = env.str("CELERY_RESULT_BACKEND", default=REDIS_URL)
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_EAGER_PROPAGATES = True
# A task is acknowledged when it ends, not when it starts: a worker killed mid-task (its child process lost, or the
# whole worker) leaves the message to run again, so every task is written to be run twice with one effect. A message
# a dead worker held comes back after the visibility timeout; one whose pool child died is requeued at once.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
}
# Publishing gives up after about a second when the broker is unreachable; enqueue_on_commit then keeps the task in
# the outbox table, and `core.outbox_flush` (beat) sends it once the broker is back.
CELERY_TASK_PUBLISH_RETRY_POLICY: dict[str, Any] = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TENANT_CACHE_SECONDS = 30
# Outgoing webhooks are sent by workers of their own (`celery worker -Q webhooks`, infra/compose.yaml): a slow
# receiver never holds back the other tasks, and the other tasks never delay a delivery.
CELERY_TASK_ROUTES: dict[str, dict[str, str]] = {
    "webhooks.deliver_due": {"queue": "webhooks"},
    "webhooks.deliver_batch": {"queue": "webhooks"},
    "webhooks.deliver": {"queue": "webhooks"},
}
# At most one waiting run per workspace of the event dispatcher and of the webhook sender
# (shared_apps/core/coalesce.py): how long a "run pending" flag holds at most (a process that died before enqueueing
# costs that long).
TASKS_COALESCE_SECONDS: int = env.int("TASKS_COALESCE_SECONDS", default=60)
# Without a broker (tasks in-process), the dispatcher and the webhook sender run on threads of the process that
# committed, not in the committing request: this many per queue; 0 runs them in the committing thread (the test
# settings). The webhook sender mostly waits on receivers, so its queue has more.
TASKS_IN_PROCESS_THREADS: int = env.int("TASKS_IN_PROCESS_THREADS", default=4)
TASKS_IN_PROCESS_QUEUE_THREADS: dict[str, int] = {"webhooks": env.int("WEBHOOKS_IN_PROCESS_THREADS", default=16)}
CELERY_BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "tenants-pool-refill": {"task": "tenants.pool_refill", "schedule": 300.0},
    "workspaces-purge-due": {"task": "workspaces.purge_due", "schedule": 3600.0},
    "workspaces-expire-redirects": {"task": "workspaces.expire_redirect_domains", "schedule": 3600.0},
    "accounts-handoff-purge": {"task": "accounts.handoff_purge_expired", "schedule": 3600.0},
    "billing-seats-sync-due": {"task": "billing.seats_sync_due", "schedule": 15.0},
    "billing-retry-unprocessed-events": {"task": "billing.retry_unprocessed_events", "schedule": 60.0},
    "billing-dunning-check": {"task": "billing.dunning_check", "schedule": 3600.0},
    "billing-seats-drift-check": {"task": "billing.seats_drift_check", "schedule": 86400.0},
    "storage-reservations-expire": {"task": "storage.reservations_expire", "schedule": 300.0},
    "storage-purges-resume": {"task": "storage.purges_resume", "schedule": 600.0},
    "storage-reconcile": {"task": "storage.reconcile_all", "schedule": 86400.0},
    "workspaces-metrics-refresh": {"task": "workspaces.metrics_refresh", "schedule": float(METRICS_REFRESH_SECONDS)},
    "workspaces-impersonations-expire": {"task": "workspaces.impersonations_expire", "schedule": 60.0},
    "core-outbox-flush": {"task": "core.outbox_flush", "schedule": 10.0},
    "core-effects-purge": {"task": "core.effects_purge", "schedule": 86400.0},
    "audit-events-sweep": {"task": "audit.events_sweep", "schedule": 60.0},
    "webhooks-retry-due": {"task": "webhooks.retry_due", "schedule": 30.0},
    "notifications-daily-sweep": {"task": "notifications.daily_sweep", "schedule": 3600.0},
    "identity-domains-check": {"task": "identity.domains_check", "schedule": 86400.0},
}
