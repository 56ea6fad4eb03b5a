"""Outgoing webhooks: managing a workspace's endpoints, and delivering its events to them to the Standard Webhooks
specification (`webhook-id`, `webhook-timestamp`, `webhook-signature`: HMAC-SHA256 over `id.timestamp.body`).

Deliveries are made by the event stream's webhooks consumer (`deliveries_create_for_events`, in the dispatcher's
transaction) and sent by the `webhooks.deliver` task, one HTTP request per attempt, outside any transaction. A failed
attempt is retried with exponential back-off and jitter (30 s, 2 min, 8 min, … capped at 12 h) until three days have
passed since the first; an endpoint that has failed for three days is switched off and its owners are emailed.
Retries of one event may overtake another event's first attempt: ordering per endpoint is not promised.
"""

from __future__ import annotations

import base64
import json
import logging
import random
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context
from standardwebhooks.webhooks import Webhook

from billing.entitlements import entitlement_require, webhook_delivery_allow
from billing.plans import Resource
from shared_apps.accounts.models import Membership, Role, User
from shared_apps.accounts.permissions import Action, require
from shared_apps.accounts.preferences import recipient_locale
from shared_apps.accounts.selectors import membership_for
from shared_apps.core.errors import ApplicationError
from shared_apps.core.transactions import enqueue_on_commit
from tenant_apps.audit.actions import AuditAction
from tenant_apps.audit.events import SUBSCRIBABLE, EventType, event_emit
from tenant_apps.audit.models import Event
from tenant_apps.audit.services import audit_record
from tenant_apps.webhooks import transport
from tenant_apps.webhooks.models import Attempt, Delivery, DeliveryStatus, Endpoint
from tenants.cross_schema import dangerously_all_tenants, workspace_schemas
from tenants.db import connection, table_sql
from tenants.models import Tenant
from tenants.selectors import primary_domain, tenant_url

logger = logging.getLogger(__name__)

SECRET_PREFIX = "whsec_"  # noqa: S105  (the specification's prefix, not a secret)
ROTATION_OVERLAP = timedelta(hours=24)
GIVE_UP_AFTER = timedelta(days=3)
RETRY_FIRST = timedelta(seconds=30)
RETRY_FACTOR = 4
RETRY_CAP = timedelta(hours=12)
RETRY_JITTER = 0.2  # each delay is drawn within ±20 % of its nominal value
CLAIM_LEASE = timedelta(seconds=60)  # a worker's hold on a delivery it is sending (another picks it up after)
USER_AGENT = "Atrium-Webhooks/1.0"


class EndpointInvalid(ApplicationError):
    pass


class Workspace(Protocol):
    """A workspace as these services need it: a Tenant row or a request's route snapshot."""

    @property
    def pk(self) -> int: ...

    @property
    def schema_name(self) -> str: ...


def _require_manager(tenant: Workspace, acting_user: User) -> None:
    """Owners and admins manage webhooks (the pages and the API check first; the service checks again)."""
    membership = membership_for(user_id=acting_user.pk, tenant_id=tenant.pk)
    require(membership.role if membership else None, Action.WEBHOOKS_MANAGE)


# --- endpoints -----------------------------------------------------------------------------------------------------


def secret_new() -> str:
    """A signing secret as the specification writes them: `whsec_` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def url_clean(url: str) -> str:
    """The URL, stripped, if it may be an endpoint: https (http only where private addresses are allowed, i.e. in
    development), with a host and no credentials. Where it resolves is checked at each delivery."""
    url = url.strip()
    try:
        transport.resolve_shape(url)
    except transport.UnsafeDestination as refusal:
        raise EndpointInvalid(str(refusal)) from refusal
    return url


def event_types_clean(event_types: Sequence[str]) -> list[str]:
    unknown = sorted(set(event_types) - set(SUBSCRIBABLE))
    if unknown:
        raise EndpointInvalid(_("Unknown event types: %(join)s.") % {"join": ", ".join(unknown)})
    return [t for t in SUBSCRIBABLE if t in set(event_types)]


@transaction.atomic
def endpoint_create(
    *,
    tenant: Workspace,
    acting_user: User,
    url: str,
    event_types: Sequence[str] = (),
    description: str = "",
    enabled: bool = True,
) -> tuple[Endpoint, str]:
    """A new endpoint and its signing secret (shown to the caller once, never again)."""
    _require_manager(tenant, acting_user)
    url = url_clean(url)
    types = event_types_clean(event_types)
    entitlement_require(
        tenant_id=tenant.pk, resource=Resource.WEBHOOK_ENDPOINTS, used=Endpoint.objects.count(), adding=1
    )
    secret = secret_new()
    endpoint = Endpoint.objects.create(
        url=url,
        event_types=types,
        description=description.strip(),
        enabled=enabled,
        secret=secret,
        created_by=acting_user,
    )
    audit_record(
        tenant=tenant,
        action=AuditAction.WEBHOOK_CREATED,
        actor=acting_user,
        target=endpoint,
        metadata={"url": url, "event_types": types, "enabled": enabled},
    )
    return endpoint, secret


@transaction.atomic
def endpoint_update(
    *,
    tenant: Workspace,
    endpoint: Endpoint,
    acting_user: User,
    url: str | None = None,
    event_types: Sequence[str] | None = None,
    description: str | None = None,
    enabled: bool | None = None,
) -> Endpoint:
    _require_manager(tenant, acting_user)
    changes: dict[str, Any] = {}
    if url is not None and url.strip() != endpoint.url:
        changes["url"] = url_clean(url)
    if event_types is not None:
        types = event_types_clean(event_types)
        if types != endpoint.event_types:
            changes["event_types"] = types
    if description is not None and description.strip() != endpoint.description:
        changes["description"] = description.strip()
    if enabled is not None and enabled != endpoint.enabled:
        changes["enabled"] = enabled
    if not changes:
        return endpoint
    for field, value in changes.items():
        setattr(endpoint, field, value)
    if changes.get("enabled"):
        endpoint.disabled_reason = ""
        endpoint.failing_since = None
    endpoint.save()
    audit_record(
        tenant=tenant, action=AuditAction.WEBHOOK_UPDATED, actor=acting_user, target=endpoint, metadata=changes
    )
    return endpoint


@transaction.atomic
def endpoint_delete(*, tenant: Workspace, endpoint: Endpoint, acting_user: User) -> None:
    _require_manager(tenant, acting_user)
    audit_record(
        tenant=tenant,
        action=AuditAction.WEBHOOK_DELETED,
        actor=acting_user,
        target=endpoint,
        metadata={"url": endpoint.url},
    )
    endpoint.delete()


@transaction.atomic
def endpoint_secret_rotate(*, tenant: Workspace, endpoint: Endpoint, acting_user: User) -> str:
    """A new secret, returned once; the current one keeps signing too for the next 24 hours."""
    _require_manager(tenant, acting_user)
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = timezone.now() + ROTATION_OVERLAP
    endpoint.secret = secret_new()
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
    audit_record(
        tenant=tenant,
        action=AuditAction.WEBHOOK_SECRET_ROTATED,
        actor=acting_user,
        target=endpoint,
        metadata={"previous_valid_until": endpoint.previous_secret_expires_at.isoformat()},
    )
    return endpoint.secret


def secrets_signing(endpoint: Endpoint, *, now: datetime | None = None) -> list[str]:
    """The secrets that sign now: the current one, and the previous one during its 24 hours."""
    moment = now or timezone.now()
    active = [endpoint.secret]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires > moment:
        active.append(endpoint.previous_secret)
    return active


# --- from the event stream to deliveries ---------------------------------------------------------------------------


def deliveries_create_for_events(events: Sequence[Event]) -> None:
    """The event stream's webhooks consumer: one delivery per event and enabled endpoint that wants its type, sent
    after the dispatcher's transaction commits. Handed the same event twice, it makes no second delivery."""
    candidates = [event for event in events if event.type != EventType.WEBHOOK_TEST]
    if not candidates:
        return
    endpoints = list(Endpoint.objects.filter(enabled=True).only("id", "event_types"))
    if not endpoints:
        return
    pairs = [(endpoint.pk, event.pk) for event in candidates for endpoint in endpoints if endpoint.receives(event.type)]
    if not pairs:
        return
    # One statement: a pair that has its delivery already (the event handed out again) is skipped.
    values = ", ".join(["(%s, %s, %s, %s, 0, %s)"] * len(pairs))
    now = timezone.now()
    params: list[Any] = []
    for endpoint_id, event_id in pairs:
        params += [endpoint_id, event_id, DeliveryStatus.PENDING, now, now]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table_sql(Delivery)} (endpoint_id, event_id, status, next_attempt_at, attempts, created_at) "  # noqa: S608
            f"VALUES {values} ON CONFLICT (endpoint_id, event_id) DO NOTHING RETURNING id",
            params,
        )
        made = [int(row[0]) for row in cursor.fetchall()]
    schema = str(connection.schema_name)
    for delivery_id in made:
        enqueue_on_commit(_deliver_task(), schema_name=schema, delivery_id=delivery_id)


def _deliver_task() -> Any:
    from tenant_apps.webhooks.tasks import deliver  # noqa: PLC0415  (the task module imports this one)

    return deliver


@transaction.atomic
def endpoint_send_test(*, tenant: Workspace, endpoint: Endpoint, acting_user: User) -> Delivery:
    """A `webhook.test` event for this endpoint only, sent at once (and retried like any other)."""
    _require_manager(tenant, acting_user)
    event_id = event_emit(
        tenant=tenant,
        type=EventType.WEBHOOK_TEST,
        actor=acting_user,
        data={"endpoint": endpoint.pk, "message": "A test event from Atrium."},
    )
    event = Event.objects.get(event_id=event_id)
    delivery = Delivery.objects.create(endpoint=endpoint, event=event, next_attempt_at=timezone.now())
    audit_record(tenant=tenant, action=AuditAction.WEBHOOK_TEST_SENT, actor=acting_user, target=endpoint)
    enqueue_on_commit(_deliver_task(), schema_name=tenant.schema_name, delivery_id=delivery.pk)
    return delivery


@transaction.atomic
def delivery_resend(*, tenant: Workspace, delivery: Delivery, acting_user: User) -> Delivery:
    """Send one delivery again now (same `webhook-id`: a receiver that saw it already can tell)."""
    _require_manager(tenant, acting_user)
    delivery.status = DeliveryStatus.PENDING
    delivery.next_attempt_at = timezone.now()
    delivery.save(update_fields=["status", "next_attempt_at"])
    audit_record(
        tenant=tenant,
        action=AuditAction.WEBHOOK_RESENT,
        actor=acting_user,
        target=delivery.endpoint,
        metadata={"delivery": delivery.pk, "event": delivery.event.event_id},
    )
    enqueue_on_commit(_deliver_task(), schema_name=tenant.schema_name, delivery_id=delivery.pk)
    return delivery


# --- sending -------------------------------------------------------------------------------------------------------


def retry_delay(attempts_made: int, *, rng: random.Random | None = None) -> timedelta:
    """How long to wait after the `attempts_made`-th failed attempt: 30 s x 4^(n-1), at most 12 h, ±20 % jitter."""
    nominal = min(RETRY_FIRST * (RETRY_FACTOR ** max(attempts_made - 1, 0)), RETRY_CAP)
    spread = (rng or _random).uniform(1 - RETRY_JITTER, 1 + RETRY_JITTER)
    return nominal * spread


_random = random.SystemRandom()


def body_of(event: Event) -> bytes:
    return json.dumps(event.payload(), separators=(",", ":"), ensure_ascii=False).encode()


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


def delivery_attempt(*, delivery_id: int, now: datetime | None = None) -> str:
    """Make the next attempt of a delivery that is due; returns what happened (for logs and tests). Claims the
    delivery first (another worker handed the same task does nothing), sends outside any transaction, then records
    the attempt and what comes next."""
    moment = now or timezone.now()
    claimed = Delivery.objects.filter(
        pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=moment
    ).update(next_attempt_at=moment + CLAIM_LEASE)
    if not claimed:
        return "not due"
    delivery = Delivery.objects.select_related("endpoint", "event").get(pk=delivery_id)
    endpoint, event = delivery.endpoint, delivery.event
    if not endpoint.enabled:
        Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED, next_attempt_at=None)
        return "endpoint disabled"
    allowed, reset_at = _per_minute_take()
    if not allowed:
        Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=reset_at)
        _schedule(delivery.pk, reset_at - moment)
        return "over the plan's deliveries per minute"
    body = body_of(event)
    headers = headers_for(endpoint, event, body, now=moment)
    answer = transport.post(endpoint.url, body=body, headers=headers)
    return _record(delivery, endpoint, headers, answer, moment)


_tenant_ids: dict[str, int] = {}


def _tenant_id_of(schema: str) -> int:
    """The workspace whose schema this is (a task's connection knows the schema only); remembered per process, as a
    schema never changes hands."""
    if schema not in _tenant_ids:
        _tenant_ids[schema] = int(Tenant.objects.values_list("pk", flat=True).get(schema_name=schema))
    return _tenant_ids[schema]


def _per_minute_take() -> tuple[bool, datetime]:
    allowed, reset_at = webhook_delivery_allow(tenant_id=_tenant_id_of(str(connection.schema_name)))
    return allowed, datetime.fromtimestamp(reset_at, tz=UTC)


def _record(
    delivery: Delivery, endpoint: Endpoint, headers: dict[str, str], answer: transport.Answer, moment: datetime
) -> str:
    number = delivery.attempts + 1
    first = delivery.last_attempt_at is None and delivery.attempts == 0
    shown = {k: v for k, v in headers.items() if k != "webhook-signature"} | {"webhook-signature": "v1,…"}
    with transaction.atomic():
        Attempt.objects.create(
            delivery=delivery,
            number=number,
            started_at=moment,
            duration_ms=answer.duration_ms,
            request_headers=shown,
            response_status=answer.status,
            response_body=answer.body,
            error=answer.error,
        )
        fields: dict[str, Any] = {"attempts": number, "last_attempt_at": moment, "last_status_code": answer.status}
        if answer.ok:
            fields |= {"status": DeliveryStatus.SUCCEEDED, "next_attempt_at": None}
            if endpoint.failing_since is not None:
                Endpoint.objects.filter(pk=endpoint.pk).update(failing_since=None)
            outcome = "delivered"
        else:
            started = _first_attempt_at(delivery, moment, first)
            delay = retry_delay(number)
            if moment + delay > started + GIVE_UP_AFTER:
                fields |= {"status": DeliveryStatus.FAILED, "next_attempt_at": None}
                outcome = "failed: gave up"
            else:
                fields["next_attempt_at"] = moment + delay
                outcome = f"failed: retry in {int(delay.total_seconds())} s"
            _endpoint_failed(endpoint, moment)
        Delivery.objects.filter(pk=delivery.pk).update(**fields)
        if fields.get("next_attempt_at") is not None:
            _schedule(delivery.pk, fields["next_attempt_at"] - moment)
    return outcome


def _first_attempt_at(delivery: Delivery, moment: datetime, first: bool) -> datetime:
    if first:
        return moment
    earliest = Attempt.objects.filter(delivery=delivery).order_by("started_at").values_list("started_at", flat=True)
    return earliest.first() or moment


def _schedule(delivery_id: int, delay: timedelta) -> None:
    """Ask for the next attempt: soon ones as a task with a countdown (a worker's broker only; in-process the beat's
    `retry_due` or a resend makes it), later ones by the beat's sweep."""
    if settings.CELERY_TASK_ALWAYS_EAGER or delay > timedelta(minutes=5):
        return
    task = _deliver_task()
    seconds = max(delay.total_seconds(), 0.0)
    schema = str(connection.schema_name)

    def send() -> None:
        with schema_context(schema):
            task.apply_async(kwargs={"delivery_id": delivery_id}, countdown=seconds)

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
        ).values_list("email", flat=True)
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
            with recipient_locale(email=owner, workspace_language=tenant.language):
                message = EmailMultiAlternatives(
                    subject=_("%(name)s: a webhook endpoint was switched off") % {"name": tenant.name},
                    body=render_to_string("email/webhook_disabled.txt", context),
                    from_email=settings.DEFAULT_FROM_EMAIL,
                    to=[owner],
                )
                message.attach_alternative(render_to_string("email/webhook_disabled.html", context), "text/html")
            message.send()
    except Exception:
        logger.exception("could not email the owners about a disabled webhook endpoint")


def deliveries_due(*, limit: int = 500, now: datetime | None = None) -> list[int]:
    """Pending deliveries whose next attempt is due, oldest first (the current workspace)."""
    moment = now or timezone.now()
    return list(
        Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=moment)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def retries_enqueue_due(*, limit_per_workspace: int = 500) -> int:
    """Across every workspace (one statement per batch of schemas; the beat only, never a request): enqueue the
    deliveries whose next attempt is due. Returns how many."""
    found = dangerously_all_tenants(
        "SELECT d.id FROM {schema}.webhooks_delivery d WHERE d.status = 'pending' AND d.next_attempt_at <= now() "
        "ORDER BY d.next_attempt_at LIMIT %s",
        params=[limit_per_workspace],
        label=_("webhook retries"),
    )
    schemas = dict(workspace_schemas())
    task = _deliver_task()
    for tenant_id, delivery_id in found.rows:
        enqueue_on_commit(task, schema_name=schemas[int(tenant_id)], delivery_id=int(delivery_id))
    return len(found.rows)
