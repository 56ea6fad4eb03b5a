"""Outgoing webhooks: managing a workspace's endpoints, and delivering its events to them to the Standard Webhooks
specification (`webhook-id`, `webhook-timestamp`, `webhook-signature`: HMAC-SHA256 over `id.timestamp.body`).

Deliveries are made by the event stream's webhooks consumer (`deliveries_create_for_events`, in the dispatcher's
transaction) and sent in batches by the workspace's `webhooks.deliver_due` task, outside any transaction (`sending`:
claiming, signing, retries, switching a failing endpoint off).
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.entitlements import entitlement_require
from billing.plans import Resource
from shared_apps.accounts.models import User
from shared_apps.accounts.permissions import Action, require
from shared_apps.accounts.selectors import membership_for
from shared_apps.core.errors import ApplicationError
from tenant_apps.audit.actions import AuditAction
from tenant_apps.audit.events import SUBSCRIBABLE, EventType, event_emit
from tenant_apps.audit.models import Event
from tenant_apps.audit.services import audit_record
from tenant_apps.webhooks import transport
from tenant_apps.webhooks.models import Delivery, DeliveryStatus, Endpoint
from tenants.db import connection, table_sql

logger = logging.getLogger(__name__)

SECRET_PREFIX = "whsec_"  # noqa: S105  (the specification's prefix, not a secret)
ROTATION_OVERLAP = timedelta(hours=24)
# Columns a workspace export leaves empty: signing secrets never leave the platform.
SECRET_COLUMNS: dict[str, list[str]] = {"webhooks_endpoint": ["secret", "previous_secret"]}
NOT_IMPORTED = "Imported without its signing secret: rotate the secret, then switch it on."


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
        if enabled and endpoint.disabled_reason == NOT_IMPORTED:
            raise EndpointInvalid(NOT_IMPORTED)
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
    if endpoint.disabled_reason == NOT_IMPORTED:
        # The receiver has never seen the imported endpoint's secret: nothing to overlap with.
        endpoint.previous_secret, endpoint.previous_secret_expires_at, endpoint.disabled_reason = "", None, ""
    endpoint.save(
        update_fields=["secret", "previous_secret", "previous_secret_expires_at", "disabled_reason", "updated_at"]
    )
    expires = endpoint.previous_secret_expires_at
    audit_record(
        tenant=tenant,
        action=AuditAction.WEBHOOK_SECRET_ROTATED,
        actor=acting_user,
        target=endpoint,
        metadata={"previous_valid_until": expires.isoformat() if expires else None},
    )
    return endpoint.secret


def body_of(event: Event) -> bytes:
    """What is POSTed: the event's payload as compact JSON (the log shows the same bytes)."""
    return json.dumps(event.payload(), separators=(",", ":"), ensure_ascii=False).encode()


def endpoints_after_import(*, tenant: Workspace) -> int:
    """After an archive's rows are loaded (they carry no secrets): every endpoint gets a new secret nobody has seen
    and is switched off until an owner or admin rotates it (which shows the secret) and switches it on. Returns how
    many."""
    endpoints = list(Endpoint.objects.values_list("pk", flat=True))
    for endpoint_id in endpoints:
        Endpoint.objects.filter(pk=endpoint_id).update(
            secret=secret_new(),
            previous_secret="",
            previous_secret_expires_at=None,
            enabled=False,
            disabled_reason=NOT_IMPORTED,
        )
    return len(endpoints)


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
    """The event stream's webhooks consumer: one delivery per event and enabled endpoint that wants its type, all in
    one statement; after the dispatcher's transaction commits, the workspace's sender (`webhooks.deliver_due`, one
    waiting at most) sends them. Handed the same event twice, it makes no second delivery."""
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
    if made:
        _sending().deliver_due_enqueue(schema_name=str(connection.schema_name))


def _sending() -> Any:
    from tenant_apps.webhooks import sending  # noqa: PLC0415  (sending imports this module)

    return sending


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
    _sending().deliveries_enqueue([delivery.pk], schema_name=tenant.schema_name)
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
    _sending().deliveries_enqueue([delivery.pk], schema_name=tenant.schema_name)
    return delivery
