"""Reading every workspace's schema at once: the one door, loudly named.

A workspace's data lives in its own schema, and almost all code reads exactly one of them (the request's, the task's).
Platform-wide figures (the operators' metrics) need the same small question asked of every schema; doing that one
`set_tenant()` at a time costs a round trip per workspace per question, and a hand-written UNION view goes stale with
every migration. `dangerously_all_tenants` is the only way this code base reads across schemas: it runs one SELECT in
every workspace schema, batched into one `UNION ALL` statement per `batch_size` schemas, on the current connection,
logging progress as it goes. Nothing that serves a request may call it (a test holds the callers to the metrics
refresh and the beat's sweeps for undispatched events and due webhook retries); requests read what the refresh stored
in the public schema.

If a batch fails (a schema behind on migrations, say), that batch is retried schema by schema, and the schemas that
still fail are reported in the result, not raised: one broken workspace does not hide the others' figures.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError, transaction

from shared_apps.core.sql import quote
from tenants.db import connection
from tenants.selectors import workspaces

logger = logging.getLogger(__name__)

SCHEMA_PLACEHOLDER = "{schema}"
DEFAULT_BATCH_SIZE = 200


@dataclass
class AcrossSchemas:
    """What a walk returned: (tenant_id, *columns) rows, and what it cost."""

    rows: list[tuple[Any, ...]] = field(default_factory=list)
    schemas: int = 0
    statements: int = 0
    failed: list[str] = field(default_factory=list)  # schema names whose SELECT failed on its own too
    seconds: float = 0.0


def workspace_schemas() -> list[tuple[int, str]]:
    """(tenant id, schema name) of every workspace: not the public schema, the template or warm-pool spares."""
    return list(workspaces().order_by("pk").values_list("pk", "schema_name"))


def dangerously_all_tenants(
    select: str,
    *,
    params: Sequence[Any] = (),
    tenants: Iterable[tuple[int, str]] | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    label: str = "query",
    progress: Callable[[int, int], None] | None = None,
) -> AcrossSchemas:
    """Run `select` in every workspace schema (or in `tenants`, (id, schema) pairs) and return its rows, each prefixed
    with the workspace's tenant id.

    `select` names the tables it reads as `{schema}.table`; the placeholder is replaced by each schema's validated,
    quoted name. `params` are bound once per schema (the same values for every one). Read-only by construction: each
    schema's SELECT is a subquery in FROM, where PostgreSQL accepts no INSERT, UPDATE or DELETE.
    """
    if SCHEMA_PLACEHOLDER not in select:
        raise ValueError("The SELECT must name its tables as {schema}.table.")
    pairs = list(tenants) if tenants is not None else workspace_schemas()
    result = AcrossSchemas(schemas=len(pairs))
    started = time.perf_counter()
    size = max(1, batch_size)
    for offset in range(0, len(pairs), size):
        batch = pairs[offset : offset + size]
        try:
            result.rows.extend(_run(select, params, batch))
            result.statements += 1
        except DatabaseError:
            logger.warning("cross-schema batch failed; retrying its schemas one by one", extra={"label": label})
            for pair in batch:
                try:
                    result.rows.extend(_run(select, params, [pair]))
                except DatabaseError:
                    logger.exception("cross-schema query failed", extra={"label": label, "schema": pair[1]})
                    result.failed.append(pair[1])
                result.statements += 1
        done = min(offset + size, len(pairs))
        logger.info(
            "cross-schema progress",
            extra={
                "label": label,
                "done": done,
                "total": len(pairs),
                "elapsed_s": round(time.perf_counter() - started, 2),
            },
        )
        if progress is not None:
            progress(done, len(pairs))
    result.seconds = time.perf_counter() - started
    return result


def _in_schema(select: str, schema: str) -> str:
    return select.replace(SCHEMA_PLACEHOLDER, quote(schema))


def _run(select: str, params: Sequence[Any], batch: Sequence[tuple[int, str]]) -> list[tuple[Any, ...]]:
    # Only validated, quoted schema names and integer ids are put into the text; values are bound parameters.
    parts = [
        f"SELECT {int(tenant_id)}::bigint AS tenant_id, q.* FROM ({_in_schema(select, schema)}) q"  # noqa: S608
        for tenant_id, schema in batch
    ]
    sql = "\nUNION ALL\n".join(parts)
    with transaction.atomic(), connection.cursor() as cursor:  # a savepoint: a failed batch leaves the caller's work
        cursor.execute(sql, list(params) * len(batch))
        return [tuple(row) for row in cursor.fetchall()]
