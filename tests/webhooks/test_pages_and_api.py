"""Settings → Webhooks and /api/v1/webhooks/: owners and admins manage endpoints (members are refused), the secret is
shown once, changes are audited, the plan caps endpoints, and each page and endpoint costs the same queries at 1 row
as at many."""

from __future__ import annotations

from typing import Any

import pytest
from django.test.utils import CaptureQueriesContext

from billing.models import BillingAccount
from shared_apps.accounts.permissions import NotAllowed
from tenant_apps.audit.models import AuditEntry, Event
from tenant_apps.webhooks import services
from tenant_apps.webhooks.models import Attempt, Delivery, Endpoint
from tenants.db import connection
from tests.api.conftest import key_for, with_key
from tests.conftest import client_for
from tests.factories.webhooks import endpoint_with_delivery
from tests.webhooks.receiver import verify_both

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_client(tenant, owner):
    client = client_for(tenant)
    client.force_login(owner)
    return client


@pytest.fixture
def business(tenant):
    BillingAccount.objects.update_or_create(tenant=tenant, defaults={"plan": "business", "status": "active"})


def test_an_owner_adds_an_endpoint_sees_the_secret_once_and_it_is_audited(tenant, in_tenant, owner_client, receiver):
    response = owner_client.post(
        "/settings/webhooks/",
        {"url": receiver.url("/in"), "description": "CI", "event_types": ["task.created"], "enabled": "on"},
    )
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    with in_tenant(tenant):
        endpoint = Endpoint.objects.get()
        assert endpoint.event_types == ["task.created"]
        assert endpoint.secret.encode() in response.content
        assert AuditEntry.objects.filter(action="webhook.created", target_id=str(endpoint.pk)).exists()
    page = owner_client.get(f"/settings/webhooks/{endpoint.pk}/")
    assert page.status_code == 200
    assert endpoint.secret.encode() not in page.content
    assert endpoint.secret.encode() not in owner_client.get("/settings/webhooks/").content


def test_send_test_event_from_the_page_arrives_signed(
    tenant, in_tenant, owner_client, receiver, django_capture_on_commit_callbacks
):
    owner_client.post("/settings/webhooks/", {"url": receiver.url("/t"), "enabled": "on"})
    with in_tenant(tenant):
        endpoint = Endpoint.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(f"/settings/webhooks/{endpoint.pk}/test/")
    assert response.status_code == 302
    [got] = receiver.wait_for(1)
    assert verify_both(endpoint.secret, got)["type"] == "webhook.test"
    log = owner_client.get(response["Location"])
    assert log.status_code == 200
    assert b"&lt;b&gt;not html&lt;/b&gt;" in log.content  # the receiver's answer, shown as text


def test_rotation_signs_with_both_secrets(
    tenant, in_tenant, owner_client, receiver, django_capture_on_commit_callbacks
):
    owner_client.post("/settings/webhooks/", {"url": receiver.url("/r"), "enabled": "on"})
    with in_tenant(tenant):
        endpoint = Endpoint.objects.get()
    old = endpoint.secret
    response = owner_client.post(f"/settings/webhooks/{endpoint.pk}/rotate/")
    assert response.status_code == 200
    with in_tenant(tenant):
        endpoint.refresh_from_db()
        assert endpoint.secret != old
        assert endpoint.secret.encode() in response.content
        assert AuditEntry.objects.filter(action="webhook.secret_rotated").exists()
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(f"/settings/webhooks/{endpoint.pk}/test/")
    [got] = receiver.wait_for(1)
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    verify_both(old, got)
    verify_both(endpoint.secret, got)


def test_members_are_refused_and_nothing_changes(tenant, in_tenant, member, owner):
    with in_tenant(tenant):
        hooked = endpoint_with_delivery(label="x", owner=owner)
    client = client_for(tenant)
    client.force_login(member)
    for path in ("/settings/webhooks/", f"/settings/webhooks/{hooked.endpoint.pk}/"):
        assert client.get(path).status_code == 403
    assert (
        client.post(
            f"/settings/webhooks/{hooked.endpoint.pk}/delete/", {"confirm_url": hooked.endpoint.url}
        ).status_code
        == 403
    )
    with in_tenant(tenant):
        assert Endpoint.objects.filter(pk=hooked.endpoint.pk).exists()
    assert with_key(tenant, key_for(tenant, member)).get("/api/v1/webhooks/").status_code == 403


def test_an_http_url_is_refused_outside_development(owner_client, settings, tenant, in_tenant):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    response = owner_client.post("/settings/webhooks/", {"url": "http://hooks.example.com/x", "enabled": "on"})
    assert response.status_code == 400
    assert b"https" in response.content
    with in_tenant(tenant):
        assert not Endpoint.objects.exists()


def test_the_plan_caps_endpoints(tenant, in_tenant, owner):
    BillingAccount.objects.update_or_create(tenant=tenant, defaults={"plan": "free", "status": "active"})
    api = with_key(tenant, key_for(tenant, owner))
    for number in range(2):
        assert (
            api.post(
                "/api/v1/webhooks/", {"url": f"https://h{number}.example.com/"}, content_type="application/json"
            ).status_code
            == 201
        )
    response = api.post("/api/v1/webhooks/", {"url": "https://h3.example.com/"}, content_type="application/json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "plan_limit_reached"
    with in_tenant(tenant):
        assert Endpoint.objects.count() == 2


def test_the_api_manages_endpoints(tenant, in_tenant, owner, business):
    api = with_key(tenant, key_for(tenant, owner))
    created = api.post(
        "/api/v1/webhooks/",
        {"url": "https://hooks.example.com/a", "event_types": ["comment.created"]},
        content_type="application/json",
    )
    assert created.status_code == 201
    body = created.json()
    assert body["secret"].startswith("whsec_")
    pk = body["id"]
    assert "secret" not in api.get(f"/api/v1/webhooks/{pk}/").json()
    changed = api.patch(f"/api/v1/webhooks/{pk}/", {"enabled": False}, content_type="application/json")
    assert changed.json()["enabled"] is False
    rotated = api.post(f"/api/v1/webhooks/{pk}/rotate-secret/")
    assert rotated.json()["secret"].startswith("whsec_")
    bad = api.post("/api/v1/webhooks/", {"url": "ftp://x"}, content_type="application/json")
    assert bad.status_code == 400
    assert api.delete(f"/api/v1/webhooks/{pk}/").status_code == 204
    with in_tenant(tenant):
        actions = set(AuditEntry.objects.filter(action__startswith="webhook.").values_list("action", flat=True))
    assert actions == {"webhook.created", "webhook.updated", "webhook.secret_rotated", "webhook.deleted"}


def test_the_delivery_log_and_resend_through_the_api(
    tenant, in_tenant, owner, business, receiver, django_capture_on_commit_callbacks
):
    with in_tenant(tenant):
        hooked = endpoint_with_delivery(label="log", owner=owner, url=receiver.url("/log"))
    api = with_key(tenant, key_for(tenant, owner))
    listing = api.get(f"/api/v1/webhooks/{hooked.endpoint.pk}/deliveries/").json()
    assert [d["id"] for d in listing["results"]] == [hooked.delivery.pk]
    detail = api.get(f"/api/v1/webhooks/{hooked.endpoint.pk}/deliveries/{hooked.delivery.pk}/").json()
    assert detail["attempt_log"][0]["response_status"] == 500
    with django_capture_on_commit_callbacks(execute=True):
        resent = api.post(f"/api/v1/webhooks/{hooked.endpoint.pk}/deliveries/{hooked.delivery.pk}/resend/")
    assert resent.status_code == 202
    [got] = receiver.wait_for(1)
    assert got.headers["webhook-id"] == hooked.event.event_id
    verify_both(hooked.endpoint.secret, got)
    with in_tenant(tenant):
        assert AuditEntry.objects.filter(action="webhook.resent").exists()


# --- query counts: the same at 1 row as at many --------------------------------------------------------------------


def _queries(client: Any, path: str) -> int:
    assert client.get(path).status_code == 200, path
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured.captured_queries)


def test_queries_do_not_grow_with_endpoints_and_deliveries(tenant, in_tenant, owner, owner_client, business):
    with in_tenant(tenant):
        first = endpoint_with_delivery(label="one", owner=owner)
    api = with_key(tenant, key_for(tenant, owner))
    e, d = first.endpoint.pk, first.delivery.pk
    paths = {
        "page list": (owner_client, "/settings/webhooks/"),
        "page endpoint": (owner_client, f"/settings/webhooks/{e}/"),
        "page delivery": (owner_client, f"/settings/webhooks/{e}/deliveries/{d}/"),
        "page delete": (owner_client, f"/settings/webhooks/{e}/delete/"),
        "api list": (api, "/api/v1/webhooks/"),
        "api endpoint": (api, f"/api/v1/webhooks/{e}/"),
        "api deliveries": (api, f"/api/v1/webhooks/{e}/deliveries/"),
        "api delivery": (api, f"/api/v1/webhooks/{e}/deliveries/{d}/"),
    }
    before = {name: _queries(client, path) for name, (client, path) in paths.items()}
    with in_tenant(tenant):
        for number in range(20):
            endpoint_with_delivery(label=f"more {number}", owner=owner)
        for number in range(30):
            event = Event.objects.create(
                event_id=f"evt_more{number}", type="task.created", occurred_at=first.event.occurred_at, data={}, txid=0
            )
            delivery = Delivery.objects.create(endpoint=first.endpoint, event=event)
            Attempt.objects.create(delivery=delivery, number=1, started_at=first.event.occurred_at)
        for number in range(2, 6):
            Attempt.objects.create(delivery=first.delivery, number=number, started_at=first.event.occurred_at)
    after = {name: _queries(client, path) for name, (client, path) in paths.items()}
    assert after == before
    assert max(before.values()) <= 16, before


def test_the_service_checks_the_role_again(tenant, in_tenant, member):
    with in_tenant(tenant), pytest.raises(NotAllowed):
        services.endpoint_create(tenant=tenant, acting_user=member, url="https://hooks.example.com/")
    with in_tenant(tenant):
        assert not Endpoint.objects.exists()
        assert not AuditEntry.objects.filter(action__startswith="webhook.").exists()
