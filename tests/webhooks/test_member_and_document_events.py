"""`member.joined` is recorded however someone joins (workspace creation, import, single sign-on, SCIM: each path's
own test; invitations in test_events.py), and `document.uploaded` when an upload is stored: each received signed by
a real receiver."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django_tenants.utils import tenant_context

from shared_apps.accounts.models import Membership, Role
from shared_apps.identity.models import SsoConnection
from shared_apps.identity.services.sso import sso_membership_ensure
from shared_apps.workspaces import services as workspaces
from tenant_apps.audit.models import Event
from tenant_apps.projects.services import document_upload, project_create
from tenant_apps.webhooks import services as webhooks
from tests.factories import UserFactory
from tests.webhooks.receiver import verify_both

pytestmark = pytest.mark.django_db


@pytest.mark.usefixtures("tenant")  # the session's workspaces exist before this one is made
def test_the_owner_of_a_new_workspace_joins_it_as_an_event(django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        tenant, owner = workspaces.workspace_create(slug="joins", name="Joins", owner_email="first@joins.test")
    with tenant_context(tenant):
        [event] = Event.objects.filter(type="member.joined")
    assert event.actor_id == owner.pk
    assert event.data["user"]["email"] == "first@joins.test"
    assert event.data["role"] == Role.OWNER
    assert event.data["id"] == Membership.objects.get(tenant=tenant, user=owner).pk


def test_a_person_joining_through_single_sign_on_is_sent_signed(
    tenant: Any, in_tenant: Any, owner: Any, receiver: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with in_tenant(tenant):
        _endpoint, secret = webhooks.endpoint_create(
            tenant=tenant, acting_user=owner, url=receiver.url("/members"), event_types=["member.joined"]
        )
    connection = SsoConnection.objects.create(
        tenant_id=tenant.pk, provider_key="joinsso1", server_url="https://idp.example.com", client_id="atrium"
    )
    ada = UserFactory.create(email="ada@acme.example")
    with django_capture_on_commit_callbacks(execute=True):
        membership = sso_membership_ensure(connection=connection, user=ada)
    [got] = receiver.wait_for(1, path="/members")
    payload = verify_both(secret, got)
    assert payload["type"] == "member.joined"
    assert payload["data"]["id"] == membership.pk
    assert payload["data"]["user"]["email"] == "ada@acme.example"
    # signing in again is no second join
    with django_capture_on_commit_callbacks(execute=True):
        sso_membership_ensure(connection=connection, user=ada)
    with in_tenant(tenant):
        assert Event.objects.filter(type="member.joined").count() == 1


def test_an_upload_is_sent_signed_as_document_uploaded(
    tenant: Any, in_tenant: Any, owner: Any, receiver: Any, django_capture_on_commit_callbacks: Any
) -> None:
    content = b"%PDF-1.4\n% a small report\n"
    with in_tenant(tenant):
        _endpoint, secret = webhooks.endpoint_create(
            tenant=tenant, acting_user=owner, url=receiver.url("/documents"), event_types=["document.uploaded"]
        )
        with django_capture_on_commit_callbacks(execute=True):
            project = project_create(name="Reports", acting_user=owner)
            document = document_upload(
                project=project, content=io.BytesIO(content), size=len(content), name="report.pdf", acting_user=owner
            )
    [got] = receiver.wait_for(1, path="/documents")
    payload = verify_both(secret, got)
    assert payload["type"] == "document.uploaded"
    assert payload["data"]["id"] == document.pk
    assert payload["data"]["name"] == "report.pdf"
    assert payload["data"]["size"] == len(content)
