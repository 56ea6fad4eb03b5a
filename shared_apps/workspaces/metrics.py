"""The metrics refresh: every workspace's figures, gathered in bulk into the public schema.

Schema-per-tenant makes "how many projects does each workspace have" a question for every schema. It is asked here,
and only here, through `tenants.cross_schema.dangerously_all_tenants` (one connection, one UNION ALL statement per
METRICS_BATCH_SIZE schemas, progress logged), by a Celery task on a beat schedule (METRICS_REFRESH_SECONDS) and by
`manage.py tenant metrics`. What it stores — `WorkspaceMetrics` (one row per workspace), `WorkspaceDay` (each
workspace's activity per day) and `PlatformDay` (the platform's sizes per day) — is what the operators' lists,
filters and dashboard read; no request reads across schemas.

Per refresh: 2 statements per METRICS_BATCH_SIZE schemas (counts; activity per day), one catalog statement per
SIZE_BATCH schemas for their sizes, one query each for members and billing, and the writes in bulk. The reads run
outside any transaction of the refresh's own, so that no transaction holds the locks of every schema at once.

Activity is what members do: audit entries with an actor, except those written while an operator was signed in as a
member (metadata "impersonator") and operators' own actions (metadata "operator").
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from billing.entitlements import API_CALLS_KEPT_DAYS, api_calls_on
from billing.models import BillingAccount
from billing.selectors import mrr_cents
from shared_apps.accounts.models import Membership
from shared_apps.storage.accounting import stored_bytes
from shared_apps.workspaces.models import PlatformDay, WorkspaceDay, WorkspaceMetrics
from tenant_apps.audit.models import AuditEntry
from tenant_apps.projects.models import Project, Task
from tenants.cross_schema import AcrossSchemas, dangerously_all_tenants, workspace_schemas
from tenants.db import advisory_lock, connection

logger = logging.getLogger(__name__)

# The first refresh reads this many days of activity back; later ones re-read from the day before the previous one.
BACKFILL_DAYS = 366
_LOCK_KEY = 0x41545249554D  # "ATRIUM": one refresh at a time, across processes
SIZE_BATCH = 50  # schemas per size statement (each locks ~50 relations per schema while it runs)

MEMBER_ACTIVITY = "actor_id IS NOT NULL AND NOT (metadata ? 'impersonator') AND NOT (metadata ? 'operator')"


def _counts_select() -> str:
    audit = AuditEntry._meta.db_table
    return (  # table names from the models; the schema is filled in (validated and quoted) by dangerously_all_tenants
        f"SELECT (SELECT count(*) FROM {{schema}}.{Project._meta.db_table}) AS projects, "  # noqa: S608
        f"(SELECT count(*) FROM {{schema}}.{Task._meta.db_table}) AS tasks, "
        f"(SELECT max(created_at) FROM {{schema}}.{audit} WHERE {MEMBER_ACTIVITY}) AS last_activity"
    )


def _days_select() -> str:
    return (
        "SELECT (created_at AT TIME ZONE 'UTC')::date AS day, count(*) AS events "  # noqa: S608
        f"FROM {{schema}}.{AuditEntry._meta.db_table} WHERE created_at >= %s AND {MEMBER_ACTIVITY} GROUP BY 1"
    )


@dataclass
class RefreshResult:
    workspaces: int = 0
    statements: int = 0
    seconds: float = 0.0
    since: date | None = None
    failed: list[str] = field(default_factory=list)
    skipped: bool = False  # another refresh was running
    phases: dict[str, float] = field(default_factory=dict)  # seconds each part took


def _start_of(day: date) -> datetime:
    return datetime.combine(day, clock.min, tzinfo=UTC)


def _database_bytes(schemas: list[str]) -> dict[str, int]:
    """Each schema's tables, indexes and TOAST, from the catalogs, SIZE_BATCH schemas per statement. Reading a
    relation's size locks it (and its indexes) until the transaction ends: a statement per batch, each its own
    transaction, keeps the locks held at once far below PostgreSQL's lock table (max_locks_per_transaction)."""
    sizes: dict[str, int] = {}
    for offset in range(0, len(schemas), SIZE_BATCH):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT n.nspname, COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'm') GROUP BY n.nspname",
                [schemas[offset : offset + SIZE_BATCH]],
            )
            sizes.update({str(name): int(size) for name, size in cursor.fetchall()})
    return sizes


def metrics_refresh(
    *, full: bool = False, now: datetime | None = None, progress: Callable[[int, int], None] | None = None
) -> RefreshResult:
    """Gather every workspace's figures into WorkspaceMetrics, WorkspaceDay and PlatformDay. `full` re-reads
    BACKFILL_DAYS of activity (the first refresh always does). Skipped, not queued, while another refresh runs."""
    now = now or timezone.now()
    started = time.perf_counter()
    result = RefreshResult()
    with advisory_lock(_LOCK_KEY) as taken:
        if not taken:
            logger.info("metrics refresh skipped: another one is running")
            result.skipped = True
            return result
        _refresh(result, full=full, now=now, started=started, progress=progress)
    logger.info(
        "metrics refresh done",
        extra={
            "workspaces": result.workspaces,
            "statements": result.statements,
            "seconds": round(result.seconds, 2),
            "failed": len(result.failed),
        },
    )
    return result


class _Laps:
    """Seconds each part of a refresh took, into `result.phases`."""

    def __init__(self, result: RefreshResult) -> None:
        self.result = result
        self.mark = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.result.phases[name] = round(now - self.mark, 3)
        self.mark = now


@dataclass(frozen=True)
class _PublicFigures:
    """What the public schema says of each workspace: members, billing, the bytes of its files (storage's accounting,
    by the workspace's prefix), and its API calls over the last 30 days (the days read now, from the API's daily
    counters, plus the days stored before). 4 queries, and one read of the shared cache per day read."""

    members: dict[int, int]
    billing: dict[int, tuple[Any, ...]]
    storage: dict[int, int]
    api_calls: dict[tuple[int, date], int]  # (workspace, day) → calls, for the days whose counters are still kept
    api_30d: dict[int, int]

    @classmethod
    def read(cls, pairs: list[tuple[int, str]], *, since: date, today: date) -> _PublicFigures:
        ids = [tenant_id for tenant_id, _schema in pairs]
        members = Membership.objects.filter(tenant_id__in=ids).values("tenant_id").annotate(n=Count("id"))
        billing = BillingAccount.objects.filter(tenant_id__in=ids).values_list(
            "tenant_id", "plan", "interval", "status", "seats_paid", "card_last4", "trial_end"
        )
        by_prefix = stored_bytes([schema for _id, schema in pairs])
        first = max(since, today - timedelta(days=API_CALLS_KEPT_DAYS - 1))
        api_calls: dict[tuple[int, date], int] = {}
        day = first
        while day <= today:
            api_calls.update({(tenant_id, day): n for tenant_id, n in api_calls_on(ids, day).items()})
            day += timedelta(days=1)
        month_start = today - timedelta(days=29)
        api_30d: dict[int, int] = defaultdict(int)
        stored = WorkspaceDay.objects.filter(tenant_id__in=ids, day__gte=month_start, day__lt=first)
        for tenant_id, calls in stored.values_list("tenant_id", "api_calls"):
            api_30d[tenant_id] += calls or 0
        for (tenant_id, day), calls in api_calls.items():
            if day >= month_start:
                api_30d[tenant_id] += calls
        return cls(
            members=dict(members.values_list("tenant_id", "n")),
            billing={row[0]: row[1:] for row in billing},
            storage={tenant_id: by_prefix.get(schema, 0) for tenant_id, schema in pairs},
            api_calls=api_calls,
            api_30d=dict(api_30d),
        )


def _since(*, full: bool, today: date) -> date:
    """The first day of activity to read: a year back the first time (or `full`), else the day before the previous
    refresh."""
    previous = PlatformDay.objects.order_by("-day").values_list("refreshed_at", flat=True).first()
    if full or previous is None:
        return today - timedelta(days=BACKFILL_DAYS)
    return min(previous.astimezone(UTC).date(), today) - timedelta(days=1)


def _workspace_metrics(
    pairs: list[tuple[int, str]],
    counts: AcrossSchemas,
    sizes: dict[str, int],
    public: _PublicFigures,
    now: datetime,
) -> list[WorkspaceMetrics]:
    by_tenant = {row[0]: row[1:] for row in counts.rows}
    metrics = []
    for tenant_id, schema in pairs:
        projects, tasks, last_activity = by_tenant.get(tenant_id, (0, 0, None))
        plan, interval, status, seats, card, trial_end = public.billing.get(tenant_id, ("", "", "", 0, "", None))
        metrics.append(
            WorkspaceMetrics(
                tenant_id=tenant_id,
                members=public.members.get(tenant_id, 0),
                projects=int(projects or 0),
                tasks=int(tasks or 0),
                database_bytes=sizes.get(schema, 0),
                storage_bytes=public.storage.get(tenant_id, 0),
                api_calls_30d=public.api_30d.get(tenant_id, 0),
                last_activity_at=last_activity,
                plan=plan,
                subscription_status=status,
                trial_end=trial_end,
                mrr_cents=mrr_cents(plan=plan, interval=interval, seats_paid=seats, status=status, card_last4=card),
                refreshed_at=now,
            )
        )
    return metrics


def _workspace_days(days: AcrossSchemas, public: _PublicFigures) -> list[WorkspaceDay]:
    """Member activity per workspace per day, with the API calls of the days whose counters are still kept (a day
    read earlier keeps the count stored then: `api_calls` is only written where it was read)."""
    per_day: dict[tuple[int, date], list[int | None]] = defaultdict(lambda: [0, None])
    for tenant_id, day, events in days.rows:
        per_day[(tenant_id, day)][0] = int(events)
    for (tenant_id, day), calls in public.api_calls.items():
        if calls or (tenant_id, day) in per_day:
            per_day[(tenant_id, day)][1] = calls
    return [
        WorkspaceDay(tenant_id=tenant_id, day=day, events=events or 0, api_calls=calls)
        for (tenant_id, day), (events, calls) in per_day.items()
    ]


_METRICS_FIELDS = [
    "members",
    "projects",
    "tasks",
    "database_bytes",
    "storage_bytes",
    "api_calls_30d",
    "last_activity_at",
    "plan",
    "subscription_status",
    "trial_end",
    "mrr_cents",
    "refreshed_at",
]


def _refresh(
    result: RefreshResult,
    *,
    full: bool,
    now: datetime,
    started: float,
    progress: Callable[[int, int], None] | None,
) -> None:
    """Read outside any transaction of ours (each statement its own: no transaction holds the locks of a thousand
    schemas at once), then write everything in one."""
    pairs = workspace_schemas()
    result.workspaces = len(pairs)
    today = now.astimezone(UTC).date()
    since = result.since = _since(full=full, today=today)
    logger.info("metrics refresh started", extra={"workspaces": len(pairs), "since": since.isoformat()})
    laps = _Laps(result)
    batch = settings.METRICS_BATCH_SIZE
    counts = dangerously_all_tenants(
        _counts_select(), tenants=pairs, batch_size=batch, label="metrics: counts", progress=progress
    )
    laps.lap("counts")
    days = dangerously_all_tenants(
        _days_select(), params=[_start_of(since)], tenants=pairs, batch_size=batch, label="metrics: activity per day"
    )
    laps.lap("activity per day")
    result.statements = counts.statements + days.statements
    result.failed = sorted(set(counts.failed) | set(days.failed))
    sizes = _database_bytes([schema for _id, schema in pairs])
    laps.lap("sizes")
    public = _PublicFigures.read(pairs, since=since, today=today)
    result.statements += 4 + -(-len(pairs) // SIZE_BATCH)  # members, billing, storage, stored days; size batches
    laps.lap("members, billing, usage")
    metrics = _workspace_metrics(pairs, counts, sizes, public, now)
    with transaction.atomic():
        WorkspaceMetrics.objects.bulk_create(
            metrics, batch_size=1000, update_conflicts=True, unique_fields=["tenant"], update_fields=_METRICS_FIELDS
        )
        WorkspaceDay.objects.bulk_create(
            _workspace_days(days, public),
            batch_size=2000,
            update_conflicts=True,
            unique_fields=["tenant_id", "day"],
            update_fields=["events", "api_calls"],
        )
        result.seconds = time.perf_counter() - started
        PlatformDay.objects.update_or_create(
            day=today,
            defaults={
                "workspaces": len(pairs),
                "members": sum(m.members for m in metrics),
                "database_bytes": sum(m.database_bytes for m in metrics),
                "storage_bytes": sum(public.storage.values()),
                "refreshed_at": now,
                "refresh_seconds": round(result.seconds, 3),
            },
        )
    laps.lap("writes")
