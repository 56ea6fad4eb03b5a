"""Without a broker (tasks run in-process, `make run`'s default) a failed delivery is still retried: the serving
process sweeps for due retries, as the beat does with a broker, and sends them in-process."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from shared_apps.operators.management.commands import serve
from tenant_apps.audit.events import EventType, event_emit
from tenant_apps.webhooks import sending, services
from tenant_apps.webhooks.models import Delivery, DeliveryStatus
from tests.webhooks.receiver import verify_both


@pytest.mark.django_db
def test_the_sweep_sends_a_due_retry_in_process(
    tenant, other_tenant, in_tenant, owner, outsider, receiver, django_capture_on_commit_callbacks
):
    # given a delivery that failed once in each of two workspaces (tasks run in-process: no broker, no countdown)
    receiver.answers.update({"/acme": [500, 200], "/globex": [500, 200]})
    secrets = {}
    for workspace, who, path in ((tenant, owner, "/acme"), (other_tenant, outsider, "/globex")):
        with in_tenant(workspace):
            _endpoint, secrets[path] = services.endpoint_create(
                tenant=workspace, acting_user=who, url=receiver.url(path)
            )
            with django_capture_on_commit_callbacks(execute=True):
                event_emit(tenant=workspace, type=EventType.TASK_CREATED, actor=who, data={"id": 1})
            delivery = Delivery.objects.get()
            assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
            # nothing retries it by itself: it waits for its back-off
            assert delivery.next_attempt_at is not None
            assert delivery.next_attempt_at > timezone.now()
            # ... which has passed
            Delivery.objects.update(next_attempt_at=timezone.now() - timedelta(hours=1))

    # when the sweep runs (the serving process's thread, or the beat's task)
    with django_capture_on_commit_callbacks(execute=True):
        assert sending.retries_enqueue_due() == 2

    # then each retry was sent, in its own workspace, signed, and recorded
    for workspace, path in ((tenant, "/acme"), (other_tenant, "/globex")):
        first, retry = receiver.wait_for(2, path=path)
        assert first.headers["webhook-id"] == retry.headers["webhook-id"]
        verify_both(secrets[path], retry)
        with in_tenant(workspace):
            delivery = Delivery.objects.get()
            assert (delivery.status, delivery.attempts) == (DeliveryStatus.SUCCEEDED, 2)
    # and a second sweep finds nothing left to do
    with django_capture_on_commit_callbacks(execute=True):
        assert sending.retries_enqueue_due() == 0


def test_the_serving_process_runs_the_sweep_without_a_broker(settings, monkeypatch):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    swept = threading.Event()

    def sweep() -> int:
        swept.set()
        return 0

    monkeypatch.setattr(sending, "retries_enqueue_due", sweep)
    sweeper = sending.retries_sweeper_start(every=0.05)
    assert sweeper is not None
    try:
        assert swept.wait(5)
    finally:
        sweeper.stop()
        sweeper.join(5)
    assert not sweeper.is_alive()


def test_with_a_broker_the_beat_sweeps_and_no_thread_starts(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    assert sending.retries_sweeper_start(every=0.05) is None
    assert "webhooks.retry_due" in {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}


def test_serve_starts_the_sweep(monkeypatch):
    started = []
    monkeypatch.setattr(serve, "retries_sweeper_start", lambda: started.append(time.monotonic()))
    monkeypatch.setattr(serve.RunserverCommand, "inner_run", lambda self, *a, **k: None)
    serve.Command().inner_run(use_threading=True)
    assert len(started) == 1
