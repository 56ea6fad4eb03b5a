"""Delivering events to a real receiver on loopback, verified with standardwebhooks and svix."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import timedelta

import pytest
from django.utils import timezone

from billing.entitlements import plan_memory_forget
from billing.models import BillingAccount
from billing.plans import PLANS, Limit, Resource
from tenant_apps.audit.events import EventType, event_emit
from tenant_apps.webhooks import sending, services
from tenant_apps.webhooks.models import Attempt, Delivery, DeliveryStatus, Endpoint
from tests.webhooks.receiver import verify_both

pytestmark = pytest.mark.django_db


def verify_payload_type(item):
    return json.loads(item.body)["type"]


def make_endpoint(tenant, owner, url, **kwargs):
    endpoint, secret = services.endpoint_create(tenant=tenant, acting_user=owner, url=url, **kwargs)
    return endpoint, secret


def test_an_event_arrives_signed(tenant, in_tenant, owner, receiver, django_capture_on_commit_callbacks):
    with in_tenant(tenant):
        endpoint, secret = make_endpoint(tenant, owner, receiver.url("/hook"))
        with django_capture_on_commit_callbacks(execute=True):
            event_id = event_emit(tenant=tenant, type=EventType.PROJECT_CREATED, actor=owner, data={"id": 7})
        [got] = receiver.wait_for(1)
        payload = verify_both(secret, got)
        assert payload["type"] == "project.created"
        assert payload["data"] == {"id": 7}
        assert got.headers["webhook-id"] == event_id
        delivery = Delivery.objects.get(endpoint=endpoint)
        assert delivery.status == DeliveryStatus.SUCCEEDED
        assert delivery.attempts == 1
        attempt = Attempt.objects.get(delivery=delivery)
        assert attempt.response_status == 200
        assert "<b>not html</b>" in attempt.response_body


def test_only_subscribed_types_are_sent(tenant, in_tenant, owner, receiver, django_capture_on_commit_callbacks):
    with in_tenant(tenant):
        make_endpoint(tenant, owner, receiver.url("/tasks"), event_types=["task.created"])
        with django_capture_on_commit_callbacks(execute=True):
            event_emit(tenant=tenant, type=EventType.PROJECT_CREATED, actor=owner, data={"id": 1})
            event_emit(tenant=tenant, type=EventType.TASK_CREATED, actor=owner, data={"id": 2})
        got = receiver.wait_for(1)
        assert len(got) == 1
        assert verify_payload_type(got[0]) == "task.created"


def test_a_failed_attempt_is_retried_later_then_succeeds(
    tenant, in_tenant, owner, receiver, django_capture_on_commit_callbacks
):
    receiver.answers["/flaky"] = [500, 500, 200]
    with in_tenant(tenant):
        endpoint, secret = make_endpoint(tenant, owner, receiver.url("/flaky"))
        with django_capture_on_commit_callbacks(execute=True):
            event_emit(tenant=tenant, type=EventType.TASK_MOVED, actor=owner, data={"id": 3})
        delivery = Delivery.objects.get(endpoint=endpoint)
        assert delivery.status == DeliveryStatus.PENDING
        assert delivery.attempts == 1
        first_retry = delivery.next_attempt_at
        assert first_retry is not None
        assert delivery.last_attempt_at is not None
        assert timedelta(seconds=23) < first_retry - delivery.last_attempt_at < timedelta(seconds=37)
        assert Endpoint.objects.get(pk=endpoint.pk).failing_since is not None
        # not due yet: nothing happens
        assert sending.delivery_attempt(delivery_id=delivery.pk) == "not due"
        assert sending.delivery_attempt(delivery_id=delivery.pk, now=first_retry).startswith("failed: retry")
        delivery.refresh_from_db()
        assert sending.delivery_attempt(delivery_id=delivery.pk, now=delivery.next_attempt_at) == "delivered"
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.SUCCEEDED
        assert delivery.attempts == 3
        assert Endpoint.objects.get(pk=endpoint.pk).failing_since is None
        got = receiver.at("/flaky")
        assert len(got) == 3
        assert len({g.headers["webhook-id"] for g in got}) == 1
        for item in got:
            verify_both(secret, item)


def test_retry_schedule_spans_three_days_with_at_least_eight_attempts():
    rng = random.Random(7)  # noqa: S311
    elapsed = timedelta(0)
    attempts = 1
    while True:
        delay = sending.retry_delay(attempts, rng=rng)
        if elapsed + delay > sending.GIVE_UP_AFTER:
            break
        elapsed += delay
        attempts += 1
    assert attempts >= 8
    assert elapsed > timedelta(days=2, hours=12)
    nominal = [sending.retry_delay(n, rng=random.Random(0)) for n in range(1, 8)]  # noqa: S311
    assert nominal == sorted(nominal)  # exponential back-off, then the cap


def test_a_timeout_is_a_failed_attempt(
    tenant, in_tenant, owner, receiver, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOKS_TIMEOUT_SECONDS = 0.3
    receiver.answers["/slow"] = ["sleep:1"]
    with in_tenant(tenant):
        endpoint, _ = make_endpoint(tenant, owner, receiver.url("/slow"))
        with django_capture_on_commit_callbacks(execute=True):
            event_emit(tenant=tenant, type=EventType.TASK_MOVED, actor=owner, data={"id": 3})
        attempt = Attempt.objects.get(delivery__endpoint=endpoint)
        assert attempt.response_status is None
        assert "timed out" in attempt.error
        assert Delivery.objects.get(endpoint=endpoint).status == DeliveryStatus.PENDING


def test_three_days_of_failures_switch_the_endpoint_off_and_email_owners(
    tenant, in_tenant, owner, receiver, mailoutbox, django_capture_on_commit_callbacks
):
    receiver.answers["/down"] = [503]
    with in_tenant(tenant):
        endpoint, _ = make_endpoint(tenant, owner, receiver.url("/down"))
        with django_capture_on_commit_callbacks(execute=True):
            event_emit(tenant=tenant, type=EventType.TASK_MOVED, actor=owner, data={"id": 3})
        delivery = Delivery.objects.get(endpoint=endpoint)
        now = timezone.now()
        with django_capture_on_commit_callbacks(execute=True):
            while True:
                delivery.refresh_from_db()
                if delivery.status != DeliveryStatus.PENDING:
                    break
                assert delivery.next_attempt_at is not None
                now = delivery.next_attempt_at
                sending.delivery_attempt(delivery_id=delivery.pk, now=now)
        assert delivery.status == DeliveryStatus.FAILED
        assert delivery.attempts >= 8
        endpoint.refresh_from_db()
        # the last attempt came less than three days after the first: one more failure switches it off
        if endpoint.enabled:
            with django_capture_on_commit_callbacks(execute=True):
                event_emit(tenant=tenant, type=EventType.TASK_MOVED, actor=owner, data={"id": 4})
            endpoint.refresh_from_db()
            later = Delivery.objects.exclude(pk=delivery.pk).get(endpoint=endpoint)
            with django_capture_on_commit_callbacks(execute=True):
                sending.delivery_attempt(
                    delivery_id=later.pk, now=endpoint.failing_since + sending.GIVE_UP_AFTER + timedelta(minutes=1)
                )
            endpoint.refresh_from_db()
        assert endpoint.enabled is False
        assert "3 days" in endpoint.disabled_reason
        assert [m.to for m in mailoutbox] == [[owner.email]]
        assert "switched off" in mailoutbox[0].subject


def test_one_workspaces_events_never_reach_anothers_endpoint(
    tenant, other_tenant, in_tenant, owner, outsider, receiver, django_capture_on_commit_callbacks
):
    with in_tenant(other_tenant):
        theirs, _ = make_endpoint(other_tenant, outsider, receiver.url("/globex"))
    with in_tenant(tenant):
        make_endpoint(tenant, owner, receiver.url("/acme"))
        with django_capture_on_commit_callbacks(execute=True):
            event_emit(tenant=tenant, type=EventType.TASK_CREATED, actor=owner, data={"id": 1})
    receiver.wait_for(1)
    assert [r.path for r in receiver.received] == ["/acme"]
    with in_tenant(other_tenant):
        assert not Delivery.objects.filter(endpoint=theirs).exists()


def test_deliveries_over_the_plans_minute_wait_for_the_next_one(
    tenant, in_tenant, owner, receiver, monkeypatch, django_capture_on_commit_callbacks
):
    BillingAccount.objects.update_or_create(tenant=tenant, defaults={"plan": "free", "status": "active"})
    free = PLANS["free"]
    monkeypatch.setitem(
        PLANS, "free", replace(free, limits={**free.limits, Resource.WEBHOOK_DELIVERIES_PER_MINUTE: Limit(1)})
    )
    plan_memory_forget()
    with in_tenant(tenant):
        endpoint, _ = make_endpoint(tenant, owner, receiver.url("/capped"))
        with django_capture_on_commit_callbacks(execute=True):
            event_emit(tenant=tenant, type=EventType.TASK_CREATED, actor=owner, data={"id": 1})
            event_emit(tenant=tenant, type=EventType.TASK_CREATED, actor=owner, data={"id": 2})
        statuses = sorted(Delivery.objects.filter(endpoint=endpoint).values_list("status", "attempts"))
    assert statuses == [(DeliveryStatus.PENDING, 0), (DeliveryStatus.SUCCEEDED, 1)]
    assert len(receiver.wait_for(1)) == 1


def test_a_retry_arrives_after_later_events_ordering_is_not_promised(
    tenant, in_tenant, owner, receiver, django_capture_on_commit_callbacks
):
    receiver.answers["/order"] = [500, 200]
    with in_tenant(tenant):
        endpoint, secret = make_endpoint(tenant, owner, receiver.url("/order"))
        with django_capture_on_commit_callbacks(execute=True):
            first = event_emit(tenant=tenant, type=EventType.TASK_CREATED, actor=owner, data={"id": 1})
        with django_capture_on_commit_callbacks(execute=True):
            second = event_emit(tenant=tenant, type=EventType.TASK_MOVED, actor=owner, data={"id": 1})
        retry = Delivery.objects.get(endpoint=endpoint, event__event_id=first)
        assert retry.next_attempt_at is not None
        assert sending.delivery_attempt(delivery_id=retry.pk, now=retry.next_attempt_at) == "delivered"
    got = receiver.wait_for(3)
    assert [g.headers["webhook-id"] for g in got] == [first, second, first]
    assert [verify_both(secret, g)["type"] for g in got] == ["task.created", "task.moved", "task.created"]


def test_with_a_broker_a_batchs_retries_are_one_countdown_task_when_the_last_is_due(
    tenant, in_tenant, owner, receiver, settings, monkeypatch, django_capture_on_commit_callbacks
):
    receiver.answers["/down"] = [500] * 6
    with in_tenant(tenant):
        make_endpoint(tenant, owner, receiver.url("/down"))
        with django_capture_on_commit_callbacks(execute=True):
            for number in range(3):
                event_emit(tenant=tenant, type=EventType.TASK_CREATED, actor=owner, data={"id": number})
        assert sorted(Delivery.objects.values_list("attempts", flat=True)) == [1, 1, 1]
        due = max(d for d in Delivery.objects.values_list("next_attempt_at", flat=True) if d is not None)

        # a worker sends the retries (with a broker): each fails again, and asks for its next attempt
        settings.CELERY_TASK_ALWAYS_EAGER = False
        asked: list[tuple[list[int], float]] = []

        class Task:
            def apply_async(self, *, kwargs, countdown):
                asked.append((kwargs["delivery_ids"], countdown))

        monkeypatch.setattr(sending, "deliver_task", Task)
        with django_capture_on_commit_callbacks(execute=True):
            outcomes = sending.deliveries_send(delivery_ids=None, now=due)
        assert sorted(outcomes) == sorted(Delivery.objects.values_list("pk", flat=True))
        retries = {d.pk: d.next_attempt_at - due for d in Delivery.objects.all() if d.next_attempt_at is not None}
        assert len(retries) == 3
    assert len(asked) == 1  # one task for the batch, not one per delivery
    ids, countdown = asked[0]
    assert sorted(ids) == sorted(retries)
    assert countdown == max(retries.values()).total_seconds()  # when the last of them is due
    assert all(timedelta(seconds=96) <= delay <= timedelta(seconds=144) for delay in retries.values())  # 2 min ±20 %
