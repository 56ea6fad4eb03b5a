"""Every task with an effect can run twice and have it once: what a worker killed mid-task (its message redelivered),
a retry after the effect, or a second enqueue does. Each task is run twice here, directly; `test_worker_killed.py`
kills a real worker."""

from __future__ import annotations

import io
import json
import time
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone
from PIL import Image

from billing import inbox
from billing.models import BillingAccount, WebhookEvent
from billing.tasks import process_event, seats_sync
from shared_apps.accounts import services as accounts
from shared_apps.accounts.models import Role, User
from shared_apps.accounts.tasks import invitation_send
from shared_apps.storage.models import StorageUsage
from shared_apps.workspaces.tasks import workspace_welcome
from tenant_apps.projects.models import Document, Project, ThumbnailStatus
from tenant_apps.projects.services import WELCOME_PROJECT_NAME, document_upload, project_create
from tenant_apps.projects.tasks import document_thumbnail
from tenants.models import Tenant
from tests.billing.helpers import start_trial, subscription_updates
from tests.factories import MembershipFactory
from tests.stripe_fixtures import LocalStripe

pytestmark = pytest.mark.faults


def test_the_welcome_run_twice_makes_one_project_and_sends_one_email(tenant: Tenant, in_tenant: Any) -> None:
    with in_tenant(tenant):
        first = workspace_welcome.delay(owner_email="owner@acme.test").get()
        second = workspace_welcome.delay(owner_email="owner@acme.test").get()
        assert Project.objects.filter(name=WELCOME_PROJECT_NAME).count() == 1

    assert first["project_id"] == second["project_id"]
    assert [m.to for m in mail.outbox] == [["owner@acme.test"]]


def test_an_invitation_message_run_twice_sends_one_email_and_a_resend_sends_another(
    tenant: Tenant, owner: User, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False):  # the enqueued task is run by hand below
        invitation = accounts.invitations_create(
            tenant=tenant, emails=["twice@example.com"], role=Role.MEMBER, acting_user=owner
        ).created[0]

    # the same message twice (redelivered after its worker died mid-task): one email
    sent = [invitation_send.apply(kwargs={"invitation_id": invitation.pk}, task_id="msg-1").get() for _ in range(2)]
    assert sent == [True, False]
    assert [m.to for m in mail.outbox] == [["twice@example.com"]]

    # a resend is a new message: a new email
    assert invitation_send.apply(kwargs={"invitation_id": invitation.pk}, task_id="msg-2").get() is True
    assert [m.to for m in mail.outbox] == [["twice@example.com"]] * 2


def test_a_seat_sync_run_twice_updates_stripe_once(
    tenant: Tenant, owner: User, local_stripe: LocalStripe, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.BILLING_SEAT_SYNC_DEBOUNCE = 10
    account = start_trial(tenant, local_stripe, django_capture_on_commit_callbacks)
    since = len(local_stripe.requests_log())
    with django_capture_on_commit_callbacks(execute=True):
        MembershipFactory.create(tenant=tenant, role=Role.MEMBER)
        accounts.invitations_create(tenant=tenant, emails=["seat@example.com"], role=Role.MEMBER, acting_user=owner)
    BillingAccount.objects.filter(pk=account.pk).update(seats_sync_due_at=timezone.now() - timedelta(seconds=1))

    results = [seats_sync.apply(kwargs={"tenant_id": tenant.pk}).get() for _ in range(2)]

    assert results == ["pushed", "nothing to push"]
    updates = subscription_updates(local_stripe, account.stripe_subscription_id, since)
    assert [u["params"]["items"][0]["quantity"] for u in updates] == ["3"]


def test_a_thumbnail_made_twice_is_stored_and_counted_once(tenant: Tenant, owner: User, in_tenant: Any) -> None:
    image = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 40)).save(image, format="PNG")
    with in_tenant(tenant):
        project = project_create(name="Pictures", acting_user=owner)
        document = document_upload(
            project=project, content=image, size=image.getbuffer().nbytes, name="red.png", acting_user=owner
        )
        before = StorageUsage.objects.get(prefix=tenant.schema_name).committed_bytes

        results = [document_thumbnail.delay(document_id=document.pk).get() for _ in range(2)]

        document.refresh_from_db()
    assert results == ["ready", "skipped"]
    assert document.thumbnail_status == ThumbnailStatus.READY
    usage = StorageUsage.objects.get(prefix=tenant.schema_name)
    assert usage.committed_bytes == before + document.thumbnail_size
    with in_tenant(tenant):
        assert Document.objects.filter(pk=document.pk).count() == 1


def test_a_webhook_event_processed_twice_has_one_effect(
    tenant: Tenant, owner: User, local_stripe: LocalStripe, django_capture_on_commit_callbacks: Any
) -> None:
    account = start_trial(tenant, local_stripe, django_capture_on_commit_callbacks)
    event = {
        "id": f"evt_twice_{time.time_ns()}",
        "object": "event",
        "type": "customer.updated",
        "created": int(time.time()),
        "livemode": False,
        "data": {"object": {"id": account.stripe_customer_id, "object": "customer", "metadata": {}}},
    }
    row, created = inbox.webhook_store(json.loads(json.dumps(event)))
    assert created

    results = [process_event.apply(kwargs={"event_pk": row.pk}).get() for _ in range(2)]

    assert [r["processed"] for r in results] == [True, False]
    stored = WebhookEvent.objects.get(pk=row.pk)
    assert stored.processed_at is not None
    assert stored.attempts <= 1
