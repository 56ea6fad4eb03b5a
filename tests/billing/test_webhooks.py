"""The webhook endpoint: signatures verified by the SDK (bad, stale, future → 400, nothing stored), each event stored
once and processed once even when delivered twice at the same time, a failed handler leaves the event unprocessed
for the retry, hostile bodies never 500, and the operators' replay (with a dry run)."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from billing import inbox, services, stripe_client, tasks
from billing.models import BillingAccount, WebhookEvent
from billing.services import webhooks
from devtools.stripe_local import sign
from shared_apps.accounts.models import User
from tenants.models import Tenant
from tests.billing.helpers import WEBHOOK, deliver, start_trial
from tests.helpers import committed_sql, mfa_enable, run_concurrently
from tests.stripe_fixtures import LocalStripe


def _event(event_id: str = "evt_test_1", kind: str = "customer.updated", customer: str = "cus_nobody") -> str:
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": kind,
            "created": int(time.time()),
            "livemode": False,
            "data": {"object": {"id": customer, "object": "customer", "metadata": {}}},
        }
    )


def _post(client: Client, payload: str, signature: str) -> Any:
    return client.post(WEBHOOK, data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature)


SECRET = stripe_client.LOCAL_WEBHOOK_SECRET


@pytest.mark.parametrize(
    ("case", "signature"),
    [
        ("wrong secret", lambda p: sign(p, "whsec_someone_else")),
        ("stale: older than 300 s", lambda p: sign(p, SECRET, int(time.time()) - 301)),
        ("from the future", lambda p: sign(p, SECRET, int(time.time()) + 600)),
        ("no signature", lambda p: ""),
        ("garbage header", lambda p: "t=abc,v1=zz"),
        ("two timestamps", lambda p: sign(p, SECRET) + ",t=1"),
        ("tampered body", lambda p: sign(p.replace("customer.updated", "invoice.paid"), SECRET)),
    ],
)
def test_a_bad_stale_or_future_signature_is_refused_and_nothing_is_stored(
    public_client: Client, case: str, signature: Any
) -> None:
    payload = _event()

    response = _post(public_client, payload, signature(payload))

    assert response.status_code == 400, case
    assert WebhookEvent.objects.count() == 0


def test_a_signed_event_is_stored_once_and_answered_fast(
    public_client: Client, django_capture_on_commit_callbacks: Any, django_assert_max_num_queries: Any
) -> None:
    payload = _event()
    with django_capture_on_commit_callbacks(execute=False) as callbacks, django_assert_max_num_queries(4):
        first = _post(public_client, payload, sign(payload, SECRET))
    again = _post(public_client, payload, sign(payload, SECRET))

    assert first.status_code == again.status_code == 200
    assert first.json() == {"received": True, "duplicate": False}
    assert again.json() == {"received": True, "duplicate": True}
    assert WebhookEvent.objects.filter(event_id="evt_test_1").count() == 1
    assert len(callbacks) == 1  # the processing task, queued on commit with the row


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe not utf-8",
        b"[]",
        b'{"id": 5}',
        b'{"type": "x"}',
        b"null",
        b"",
        b'{"id": "evt_\\u0000", "type": "a"}',
        b'{"id": "evt_deep", "type": "a", "data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    ],
)
def test_hostile_bodies_with_a_valid_signature_never_500(public_client: Client, body: bytes) -> None:
    text = body.decode("utf-8", errors="replace")
    response = public_client.post(
        WEBHOOK, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(text, SECRET)
    )

    assert response.status_code in (200, 400)
    assert response.status_code == 400 or WebhookEvent.objects.count() == 1


@pytest.mark.parametrize("length", ["abc", "-1", "1e9", "12abc", " ", "99999999999999999999999", "\u0661\u0662"])
def test_a_content_length_that_is_not_a_size_is_a_400(public_client: Client, length: str) -> None:
    payload = _event()

    response = public_client.post(
        WEBHOOK,
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload, SECRET),
        CONTENT_LENGTH=length,
    )

    assert response.status_code in (400, 413), length
    assert response.json()["error"]
    assert WebhookEvent.objects.count() == 0


def test_only_post_on_the_root_domain(public_client: Client, tenant_client: Client) -> None:
    assert public_client.get(WEBHOOK).status_code == 405
    assert tenant_client.post(WEBHOOK, data="{}", content_type="application/json").status_code == 404


def test_the_same_event_delivered_twice_at_once_has_one_effect(django_db_blocker: Any) -> None:
    """Two deliveries race: one row (the unique event id decides), one processing (the row lock decides)."""
    event_id = f"evt_race_{time.time_ns()}"
    event = json.loads(_event(event_id))
    barrier = threading.Barrier(2)
    with django_db_blocker.unblock():
        _race(event, event_id, barrier)


def _race(event: dict[str, Any], event_id: str, barrier: threading.Barrier) -> None:
    try:
        stored = run_concurrently([lambda: inbox.webhook_store(event)] * 2, before_each=barrier.wait)
        assert sorted(created for _row, created in stored) == [False, True]
        pk = stored[0][0].pk
        committed_sql("UPDATE billing_webhookevent SET processed_at = NULL, attempts = 0 WHERE id = %s", [pk])
        processed = run_concurrently(
            [lambda: services.webhook_event_process(event_pk=pk)] * 2, before_each=threading.Barrier(2).wait
        )
        assert sorted(r.processed for r in processed) == [False, True]
        assert [r.skipped for r in processed if not r.processed] == ["already processed"]
        assert committed_sql("SELECT attempts FROM billing_webhookevent WHERE id = %s", [pk]) == [(1,)]
    finally:
        committed_sql("DELETE FROM billing_webhookevent WHERE event_id = %s", [event_id])


def test_a_failed_handler_leaves_the_event_unprocessed_and_it_is_retried(
    tenant: Tenant,
    owner: User,
    public_client: Client,
    local_stripe: LocalStripe,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    account = start_trial(tenant, local_stripe, django_capture_on_commit_callbacks)
    stripe_client.client().v1.customers.update(str(account.stripe_customer_id), params={"name": "Acme Renamed"})
    broken = {"on": True}
    original = services.customer_sync

    def flaky(**kwargs: Any) -> Any:
        if broken["on"]:
            raise services.BillingUnavailable("Stripe timed out")
        return original(**kwargs)

    monkeypatch.setattr(webhooks, "customer_sync", flaky)
    with django_capture_on_commit_callbacks(execute=True):
        deliver(public_client, local_stripe)
    event = WebhookEvent.objects.get(type="customer.updated", customer_id=account.stripe_customer_id)
    assert event.processed_at is None
    assert event.attempts == 1
    assert "Stripe timed out" in event.last_error

    broken["on"] = False
    result = services.webhook_event_process(event_pk=event.pk)

    event.refresh_from_db()
    assert result.processed
    assert event.processed_at is not None
    assert event.attempts == 2
    assert event.last_error == ""


def test_unprocessed_events_are_swept_back_into_the_queue(db: None, django_capture_on_commit_callbacks: Any) -> None:

    row, _ = inbox.webhook_store(json.loads(_event("evt_swept")))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        queued = tasks.webhooks_retry_unprocessed(now=timezone.now() + timedelta(minutes=2))
    assert queued == 1
    assert len(callbacks) == 1
    assert row.pk


def test_replay_dry_run_shows_what_would_change_and_changes_nothing(
    tenant: Tenant, owner: User, local_stripe: LocalStripe, django_capture_on_commit_callbacks: Any
) -> None:
    account = start_trial(tenant, local_stripe, django_capture_on_commit_callbacks)
    row, _ = inbox.webhook_store(json.loads(_event("evt_replay", customer=str(account.stripe_customer_id))))
    BillingAccount.objects.filter(pk=account.pk).update(status="past_due", seats_paid=99)

    dry = services.webhook_event_process(event_pk=row.pk, dry_run=True)

    assert dry.sync is not None
    assert dry.sync.changes["status"] == ("past_due", "trialing")
    assert BillingAccount.objects.get(pk=account.pk).status == "past_due"
    assert WebhookEvent.objects.get(pk=row.pk).processed_at is None

    done = services.webhook_event_process(event_pk=row.pk)
    again = services.webhook_event_process(event_pk=row.pk, replay=True)
    assert done.processed
    assert again.processed
    assert BillingAccount.objects.get(pk=account.pk).status == "trialing"


def test_the_admin_lists_and_replays_events(
    tenant: Tenant,
    owner: User,
    local_stripe: LocalStripe,
    django_capture_on_commit_callbacks: Any,
    public_client: Client,
) -> None:
    account = start_trial(tenant, local_stripe, django_capture_on_commit_callbacks)
    row, _ = inbox.webhook_store(json.loads(_event("evt_admin", customer=str(account.stripe_customer_id))))
    operator = User.objects.create_superuser("root@atrium.test", "x-very-long-password-1")
    mfa_enable(operator)  # the admin opens to staff with two-factor authentication only
    public_client.force_login(operator)

    listing = public_client.get("/admin/billing/webhookevent/?type=customer.updated&processed=no")
    assert listing.status_code == 200
    assert b"evt_admin" in listing.content
    response = public_client.post(
        "/admin/billing/webhookevent/", {"action": "replay_dry_run", "_selected_action": [row.pk]}, follow=True
    )
    assert b"would change" in response.content
    assert WebhookEvent.objects.get(pk=row.pk).processed_at is None
    public_client.post("/admin/billing/webhookevent/", {"action": "replay", "_selected_action": [row.pk]})
    assert WebhookEvent.objects.get(pk=row.pk).processed_at is not None


def test_events_for_one_workspace_never_touch_another(
    tenant: Tenant,
    other_tenant: Tenant,
    owner: User,
    outsider: User,
    public_client: Client,
    local_stripe: LocalStripe,
    django_capture_on_commit_callbacks: Any,
) -> None:
    acme = start_trial(tenant, local_stripe, django_capture_on_commit_callbacks)
    globex = start_trial(other_tenant, local_stripe, django_capture_on_commit_callbacks)
    stripe_client.client().v1.subscriptions.cancel(acme.stripe_subscription_id)

    with django_capture_on_commit_callbacks(execute=True):
        deliver(public_client, local_stripe)

    assert BillingAccount.objects.get(pk=acme.pk).status == "canceled"
    assert BillingAccount.objects.get(pk=globex.pk).status == "trialing"
    tenant.refresh_from_db()
    other_tenant.refresh_from_db()
    assert (tenant.status, other_tenant.status) == ("billing_suspended", "active")
