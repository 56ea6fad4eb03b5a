"""Sending a workspace's deliveries, in batches: claim, sign, send, record.

The webhooks consumer hands sending to one run per workspace: `deliver_due_enqueue` enqueues `webhooks.deliver_due`
(on the `webhooks` queue; without a broker on threads of the committing process) unless a run of it is already
waiting, and the run (`deliveries_send_due`) sends the workspace's due deliveries, a batch a run. A resend,
a test event and a retry's countdown send given deliveries (`webhooks.deliver_batch`). Each batch
(`deliveries_send`) makes the next attempt of each delivery that is due, with a fixed number of statements whatever
the batch's size:

1. claim them in one `UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)`: a lease moves their next attempt a
   minute ahead, so a second worker handed the same ids (or the sweep) skips them;
2. read them with their endpoints and events in one query, and count them against the plan's deliveries a minute;
3. send them outside any transaction (`transport.post_many`: concurrently, one kept-alive connection per endpoint);
4. record every attempt and what comes next in one transaction (one insert, one update, and the endpoints' state).

A failed attempt is retried with exponential back-off and jitter (30 s, 2 min, 8 min, … capped at 12 h) until three
days have passed since the first; an endpoint that has failed for three days is switched off and its owners are
emailed. Retries of one event may overtake another event's first attempt: ordering per endpoint is not promised.
"""

from __future__ import annotations

import json
import logging
import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import connections, transaction
from django.db.models import Min
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context
from standardwebhooks.webhooks import Webhook

from billing.entitlements import webhook_deliveries_allow
from shared_apps.accounts.models import Membership, Role, User
from shared_apps.accounts.preferences import recipient_locale
from shared_apps.core.coalesce import enqueue_once_on_commit, release
from shared_apps.core.transactions import enqueue_on_commit
from tenant_apps.audit.actions import AuditAction
from tenant_apps.audit.models import Event
from tenant_apps.audit.services import audit_record
from tenant_apps.webhooks import transport
from tenant_apps.webhooks.models import Attempt, Delivery, DeliveryStatus, Endpoint
from tenant_apps.webhooks.services import body_of, secrets_signing
from tenants.cross_schema import dangerously_all_tenants, workspace_schemas
from tenants.db import connection, table_sql
from tenants.models import Tenant
from tenants.selectors import primary_domain, tenant_url

logger = logging.getLogger(__name__)

GIVE_UP_AFTER = timedelta(days=3)
RETRY_FIRST = timedelta(seconds=30)
RETRY_FACTOR = 4
RETRY_CAP = timedelta(hours=12)
RETRY_JITTER = 0.2  # each delay is drawn within ±20 % of its nominal value
CLAIM_LEASE = timedelta(seconds=60)  # a worker's hold on a delivery it is sending (another picks it up after)
USER_AGENT = "Atrium-Webhooks/1.0"


def retry_delay(attempts_made: int, *, rng: random.Random | None = None) -> timedelta:
    """How long to wait after the `attempts_made`-th failed attempt: 30 s x 4^(n-1), at most 12 h, ±20 % jitter."""
    nominal = min(RETRY_FIRST * (RETRY_FACTOR ** max(attempts_made - 1, 0)), RETRY_CAP)
    spread = (rng or _random).uniform(1 - RETRY_JITTER, 1 + RETRY_JITTER)
    return nominal * spread


_random = random.SystemRandom()


def headers_for(endpoint: Endpoint, event: Event, body: bytes, *, now: datetime | None = None) -> dict[str, str]:
    moment = now or timezone.now()
    signatures = [
        Webhook(secret).sign(event.event_id, moment, body) for secret in secrets_signing(endpoint, now=moment)
    ]
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": event.event_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": " ".join(signatures),
    }


def deliver_task() -> Any:
    from tenant_apps.webhooks.tasks import deliver_batch  # noqa: PLC0415  (the task module imports this one)

    return deliver_batch


def deliveries_enqueue(delivery_ids: Sequence[int], *, schema_name: str) -> None:
    """Send these deliveries after the current transaction commits, in batches of WEBHOOKS_BATCH_SIZE (a resend, a
    test event: these ones, at once, whatever else is due)."""
    size = max(int(settings.WEBHOOKS_BATCH_SIZE), 1)
    for start in range(0, len(delivery_ids), size):
        chunk = [int(pk) for pk in delivery_ids[start : start + size]]
        enqueue_on_commit(deliver_task(), schema_name=schema_name, delivery_ids=chunk)


def send_key(schema: str) -> str:
    """The "a sender is waiting" flag of `schema`'s workspace (shared_apps/core/coalesce.py)."""
    return f"webhooks-send:{schema}"


def deliver_due_enqueue(*, schema_name: str) -> None:
    """After the current transaction commits: send every due delivery of the workspace (`webhooks.deliver_due`, on
    the `webhooks` queue), unless a run of it is already waiting (that one will send these too)."""
    from tenant_apps.webhooks.tasks import deliver_due  # noqa: PLC0415  (the task module imports this one)

    enqueue_once_on_commit(deliver_due, key=send_key(schema_name), schema_name=schema_name)


def deliveries_send_due(*, now: datetime | None = None) -> int:
    """The `webhooks.deliver_due` task's body: clear the workspace's "sender waiting" flag, then send one batch of
    what is due (WEBHOOKS_BATCH_SIZE, oldest first). A full batch may have left some: the next run is enqueued, behind
    the other workspaces' (a busy workspace never holds a worker for the others' deliveries). Deliveries made after
    the flag was cleared have enqueued their own run. Returns how many deliveries were claimed."""
    schema = str(connection.schema_name)
    release(send_key(schema))
    claimed = len(deliveries_send(delivery_ids=None, now=now))
    if claimed >= int(settings.WEBHOOKS_BATCH_SIZE):
        deliver_due_enqueue(schema_name=schema)
    return claimed


# --- one batch -----------------------------------------------------------------------------------------------------


def delivery_attempt(*, delivery_id: int, now: datetime | None = None) -> str:
    """The next attempt of one delivery if it is due; what happened (for logs and tests)."""
    return deliveries_send(delivery_ids=[delivery_id], now=now).get(delivery_id, "not due")


def deliveries_send(*, delivery_ids: Sequence[int] | None, now: datetime | None = None) -> dict[int, str]:
    """Make the next attempt of each of these deliveries that is due (None: of the workspace's due deliveries, up
    to WEBHOOKS_BATCH_SIZE, oldest first); returns what happened to each one claimed."""
    moment = now or timezone.now()
    claimed = _claim(delivery_ids, moment)
    if not claimed:
        return {}
    deliveries = list(Delivery.objects.filter(pk__in=claimed).select_related("endpoint", "event").order_by("pk"))
    outcomes: dict[int, str] = {}
    off = [d.pk for d in deliveries if not d.endpoint.enabled]
    if off:
        Delivery.objects.filter(pk__in=off).update(status=DeliveryStatus.FAILED, next_attempt_at=None)
        outcomes |= dict.fromkeys(off, "endpoint disabled")
    sending, waiting, reset_at = _per_minute_take([d for d in deliveries if d.endpoint.enabled])
    if waiting:
        Delivery.objects.filter(pk__in=[d.pk for d in waiting]).update(next_attempt_at=reset_at)
        with transaction.atomic():
            _schedule([delivery.pk for delivery in waiting], reset_at - moment)
        outcomes |= dict.fromkeys((d.pk for d in waiting), "over the plan's deliveries per minute")
    if not sending:
        return outcomes
    requests = []
    for delivery in sending:
        body = body_of(delivery.event)
        headers = headers_for(delivery.endpoint, delivery.event, body, now=moment)
        requests.append(transport.Outgoing(delivery.endpoint.url, body, headers))
    answers = transport.post_many(requests)
    return outcomes | _record(sending, requests, answers, moment)


def _claim(delivery_ids: Sequence[int] | None, moment: datetime) -> list[int]:
    """Take the due deliveries among `delivery_ids` (or the oldest due ones) for this worker: one statement. Rows
    another worker is claiming at this very moment are skipped, not waited for."""
    table = table_sql(Delivery)
    where = "status = %s AND next_attempt_at <= %s"
    params: list[Any] = [DeliveryStatus.PENDING, moment]
    if delivery_ids is not None:
        where += " AND id = ANY(%s)"
        params.append([int(pk) for pk in delivery_ids])
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET next_attempt_at = %s WHERE id IN ("  # noqa: S608  (a quoted table name)
            f"SELECT id FROM {table} WHERE {where} ORDER BY next_attempt_at, id LIMIT %s FOR UPDATE SKIP LOCKED"
            ") RETURNING id",
            [moment + CLAIM_LEASE, *params, len(delivery_ids or ()) or int(settings.WEBHOOKS_BATCH_SIZE)],
        )
        return sorted(int(row[0]) for row in cursor.fetchall())


_tenant_ids: dict[str, int] = {}


def _tenant_id_of(schema: str) -> int:
    """The workspace whose schema this is (a task's connection knows the schema only); remembered per process, as a
    schema never changes hands."""
    if schema not in _tenant_ids:
        _tenant_ids[schema] = int(Tenant.objects.values_list("pk", flat=True).get(schema_name=schema))
    return _tenant_ids[schema]


def _per_minute_take(deliveries: list[Delivery]) -> tuple[list[Delivery], list[Delivery], datetime]:
    """Count the deliveries against the plan's attempts a minute, in order, in one step: (those allowed now, those
    that wait for the next window, when it starts)."""
    tenant_id = _tenant_id_of(str(connection.schema_name))
    allowed, reset_at = webhook_deliveries_allow(tenant_id=tenant_id, wanted=len(deliveries))
    return deliveries[:allowed], deliveries[allowed:], datetime.fromtimestamp(reset_at, tz=UTC)


@dataclass
class _Results:
    attempts: list[Any]  # the attempts' columns, row after row (ATTEMPT_COLUMNS)
    outcomes: dict[int, str]
    endpoints: dict[int, Endpoint]
    succeeded: set[int]  # endpoints that accepted at least one attempt
    failed: dict[int, Endpoint]  # endpoints whose every attempt failed


def _record(
    deliveries: list[Delivery],
    requests: list[transport.Outgoing],
    answers: list[transport.Answer],
    moment: datetime,
) -> dict[int, str]:
    """Every attempt and what comes next, in one transaction: the attempts in one insert, the deliveries in one
    update, the endpoints' failing state after."""
    endpoints = {delivery.endpoint_id: delivery.endpoint for delivery in deliveries}
    results = _Results(attempts=[], outcomes={}, endpoints=endpoints, succeeded=set(), failed={})
    started = _first_attempts(deliveries, answers)
    for delivery, request, answer in zip(deliveries, requests, answers, strict=True):
        number = delivery.attempts + 1
        shown = {k: v for k, v in request.headers.items() if k != "webhook-signature"} | {"webhook-signature": "v1,…"}
        results.attempts += [delivery.pk, number, moment, answer.duration_ms, json.dumps(shown)]
        results.attempts += [answer.status, answer.body, answer.error]
        delivery.attempts, delivery.last_attempt_at, delivery.last_status_code = number, moment, answer.status
        if answer.ok:
            delivery.status, delivery.next_attempt_at = DeliveryStatus.SUCCEEDED, None
            results.succeeded.add(delivery.endpoint_id)
            results.outcomes[delivery.pk] = "delivered"
            continue
        delay = retry_delay(number)
        if moment + delay > started.get(delivery.pk, moment) + GIVE_UP_AFTER:
            delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
            results.outcomes[delivery.pk] = "failed: gave up"
        else:
            delivery.next_attempt_at = moment + delay
            results.outcomes[delivery.pk] = f"failed: retry in {int(delay.total_seconds())} s"
        results.failed[delivery.endpoint_id] = delivery.endpoint
    with transaction.atomic():
        _attempts_write(results.attempts, len(deliveries))
        _deliveries_write(deliveries)
        _endpoints_note(results, moment)
        _retries_schedule(deliveries, moment)
    return results.outcomes


ATTEMPT_COLUMNS = "delivery_id, number, started_at, duration_ms, request_headers, response_status, response_body, error"


def _attempts_write(values: list[Any], count: int) -> None:
    """`count` attempts in one INSERT, their columns in `values` row after row (written by hand, as below)."""
    row = "(%s, %s, %s, %s, %s::jsonb, %s, %s, %s)"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table_sql(Attempt)} ({ATTEMPT_COLUMNS}) VALUES {', '.join([row] * count)}",  # noqa: S608  (a quoted table name)
            values,
        )


def _deliveries_write(deliveries: list[Delivery]) -> None:
    """Each delivery's new state in one `UPDATE … FROM (VALUES …)`, written by hand: Django's `bulk_update` writes a
    CASE per column with a branch per row (its cost grows with the square of the batch), and building model rows
    costs more than sending them."""
    row = "(%s::bigint, %s::integer, %s::timestamptz, %s::integer, %s::varchar, %s::timestamptz)"
    params: list[Any] = []
    for d in deliveries:
        params += [d.pk, d.attempts, d.last_attempt_at, d.last_status_code, d.status, d.next_attempt_at]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table_sql(Delivery)} AS d SET attempts = v.attempts, last_attempt_at = v.last_attempt_at, "  # noqa: S608  (a quoted table name)
            "last_status_code = v.last_status_code, status = v.status, next_attempt_at = v.next_attempt_at "
            f"FROM (VALUES {', '.join([row] * len(deliveries))}) "
            "AS v (id, attempts, last_attempt_at, last_status_code, status, next_attempt_at) WHERE d.id = v.id",
            params,
        )


def _first_attempts(deliveries: list[Delivery], answers: list[transport.Answer]) -> dict[int, datetime]:
    """When each failed delivery that was attempted before made its first attempt (one query; none for first
    attempts, whose first is now)."""
    again = [d.pk for d, answer in zip(deliveries, answers, strict=True) if not answer.ok and d.attempts > 0]
    if not again:
        return {}
    rows = Attempt.objects.filter(delivery_id__in=again).values("delivery_id").annotate(first=Min("started_at"))
    return {int(row["delivery_id"]): row["first"] for row in rows}


def _endpoints_note(results: _Results, moment: datetime) -> None:
    recovered = {pk for pk in results.succeeded if results.endpoints[pk].failing_since is not None}
    if recovered:
        Endpoint.objects.filter(pk__in=recovered).update(failing_since=None)
    for endpoint_id, endpoint in results.failed.items():
        if endpoint_id not in results.succeeded:
            _endpoint_failed(endpoint, moment)


def _retries_schedule(deliveries: list[Delivery], moment: datetime) -> None:
    """One countdown task per attempt number for the batch's retries, when the last of them is due: each is then
    sent within its own delay's ±20 % (the same nominal delay, the latest jitter), and a batch that failed asks for a
    few tasks, not one per delivery."""
    groups: dict[int, list[Delivery]] = {}
    for delivery in deliveries:
        if delivery.next_attempt_at is not None:
            groups.setdefault(delivery.attempts, []).append(delivery)
    for group in groups.values():
        latest = max(d.next_attempt_at for d in group if d.next_attempt_at is not None)
        _schedule([d.pk for d in group], latest - moment)


def _schedule(delivery_ids: list[int], delay: timedelta) -> None:
    """Ask for the next attempt: soon ones as a task with a countdown (a worker's broker only), later ones (and every
    one without a broker) by the sweep (`retry_due`: the beat, or `manage.py webhooks retry` in development)."""
    if not delivery_ids or settings.CELERY_TASK_ALWAYS_EAGER or delay > timedelta(minutes=5):
        return
    task = deliver_task()
    seconds = max(delay.total_seconds(), 0.0)
    schema = str(connection.schema_name)

    def send() -> None:
        with schema_context(schema):
            task.apply_async(kwargs={"delivery_ids": delivery_ids}, countdown=seconds)

    transaction.on_commit(send)


def _endpoint_failed(endpoint: Endpoint, moment: datetime) -> None:
    since = endpoint.failing_since
    if since is None:
        Endpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(failing_since=moment)
        return
    if moment - since < GIVE_UP_AFTER or not endpoint.enabled:
        return
    switched = Endpoint.objects.filter(pk=endpoint.pk, enabled=True).update(
        enabled=False, disabled_reason="Every delivery failed for 3 days."
    )
    if switched:
        tenant = Tenant.objects.get(schema_name=connection.schema_name)
        audit_record(
            tenant=tenant,
            action=AuditAction.WEBHOOK_DISABLED,
            actor=None,
            target=endpoint,
            metadata={"url": endpoint.url, "failing_since": since.isoformat()},
        )
        transaction.on_commit(lambda: _owners_email(tenant, endpoint, since))


def _owners_email(tenant: Tenant, endpoint: Endpoint, since: datetime) -> None:
    owners = list(
        User.objects.filter(
            pk__in=Membership.objects.filter(tenant_id=tenant.pk, role=Role.OWNER).values("user_id"), is_active=True
        ).only("email", "language", "time_zone")
    )
    if not owners:
        return
    domain = primary_domain(tenant)
    context = {
        "tenant_name": tenant.name,
        "endpoint_url": endpoint.url,
        "since": since,
        "url": (tenant_url(domain.domain) + f"/settings/webhooks/{endpoint.pk}/") if domain else "",
    }
    try:
        for owner in owners:  # one message per owner, each in its reader's language and time zone
            with recipient_locale(user=owner, workspace_language=tenant.language):
                message = EmailMultiAlternatives(
                    subject=_("%(name)s: a webhook endpoint was switched off") % {"name": tenant.name},
                    body=render_to_string("email/webhook_disabled.txt", context),
                    from_email=settings.DEFAULT_FROM_EMAIL,
                    to=[owner.email],
                )
                message.attach_alternative(render_to_string("email/webhook_disabled.html", context), "text/html")
            message.send()
    except Exception:
        logger.exception("could not email the owners about a disabled webhook endpoint")


# --- retries that are due ------------------------------------------------------------------------------------------


def deliveries_due(*, limit: int = 500, now: datetime | None = None) -> list[int]:
    """Pending deliveries whose next attempt is due, oldest first (the current workspace)."""
    moment = now or timezone.now()
    return list(
        Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=moment)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def retries_enqueue_due(*, limit_per_workspace: int = 500) -> int:
    """Across every workspace (one statement per batch of schemas; the beat only, never a request): find the
    workspaces with deliveries whose next attempt is due (up to `limit_per_workspace` each are counted) and enqueue
    one sender for each (`deliver_due_enqueue`). Returns how many deliveries were found due."""
    found = dangerously_all_tenants(
        "SELECT d.id FROM {schema}.webhooks_delivery d WHERE d.status = 'pending' AND d.next_attempt_at <= now() "
        "ORDER BY d.next_attempt_at LIMIT %s",
        params=[limit_per_workspace],
        label="webhook retries",
    )
    schemas = dict(workspace_schemas())
    for tenant_id in sorted({int(row[0]) for row in found.rows}):
        deliver_due_enqueue(schema_name=schemas[tenant_id])
    return len(found.rows)


class RetrySweeper(threading.Thread):
    """A daemon thread running the retry sweep every `every` seconds until `stop()`."""

    def __init__(self, every: float) -> None:
        super().__init__(name="webhooks-retries", daemon=True)
        self.every = every
        self.stopped = threading.Event()

    def stop(self) -> None:
        self.stopped.set()

    def run(self) -> None:
        while not self.stopped.wait(self.every):
            try:
                retries_enqueue_due()
            except Exception:
                logger.exception("the in-process webhook retry sweep failed; trying again next time")
            finally:
                connections.close_all()  # this thread's own


def retries_sweeper_start(*, every: float = 30.0) -> RetrySweeper | None:
    """Without a broker (tasks run in-process, `make run`'s default) no beat sends the retries: a daemon thread of
    the serving process runs the beat's sweep (`retries_enqueue_due`) every `every` seconds. With a broker: None,
    the beat's `webhooks.retry_due` does it."""
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        return None
    sweeper = RetrySweeper(every)
    sweeper.start()
    return sweeper
