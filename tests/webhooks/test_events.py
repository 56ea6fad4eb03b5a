"""The services that make a change record its event, with the object as the API shows it, and an endpoint that
wants every type receives each of them, signed."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from billing.models import BillingAccount
from shared_apps.accounts import services as accounts
from shared_apps.accounts.models import Membership, Role
from shared_apps.workspaces.services.billing_state import workspace_billing_state_apply
from tenant_apps.audit.models import Event
from tenant_apps.projects import services as product
from tenant_apps.projects.models import TaskStatus
from tenant_apps.webhooks import services as webhooks
from tests.factories import DocumentFactory, MembershipFactory, UserFactory
from tests.factories.people import invite
from tests.webhooks.receiver import verify_both

pytestmark = pytest.mark.django_db


def test_each_service_records_its_event_and_the_endpoint_receives_it_signed(
    tenant: Any,
    in_tenant: Any,
    owner: Any,
    receiver: Any,
    public_client: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with in_tenant(tenant):
        _endpoint, secret = webhooks.endpoint_create(tenant=tenant, acting_user=owner, url=receiver.url("/all"))
    with django_capture_on_commit_callbacks(execute=True), in_tenant(tenant):
        project = product.project_create(name="Launch", acting_user=owner)
        project_id = project.pk
        product.project_update(project=project, name="Launch v2", description="", acting_user=owner)
        task = product.task_create(project=project, title="Ship it", acting_user=owner)
        product.task_update(
            task=task, title="Ship it now", description="", assignee_id=None, due_date=None, acting_user=owner
        )
        product.task_move(task=task, status=TaskStatus.DONE, position=0, acting_user=owner)
        comment = product.comment_create(task=task, body="Done!", acting_user=owner)
        product.comment_delete(comment=comment, acting_user=owner)
        document = DocumentFactory.create(project=project, task=task, uploaded_by=owner)
        product.document_delete(document=document, confirm_name=document.name, acting_user=owner)
        product.task_delete(task=task, acting_user=owner)
        product.project_archive(project=project, acting_user=owner)
        product.project_delete(project=project, confirm_name="Launch v2", acting_user=owner)
    member = MembershipFactory.create(tenant=tenant, role=Role.MEMBER, user__email="m@acme.test")
    with django_capture_on_commit_callbacks(execute=True):
        accounts.member_role_change(tenant=tenant, membership=member, role=Role.ADMIN, acting_user=owner)
        accounts.member_remove(tenant=tenant, membership=member, acting_user=owner)
        accounts.invitations_create(tenant=tenant, emails=["new@example.com"], role=Role.MEMBER, acting_user=owner)
    token = invite(tenant, "ada@example.com", invited_by=owner)
    public_client.force_login(UserFactory.create(email="ada@example.com"))
    with django_capture_on_commit_callbacks(execute=True):
        assert public_client.post(f"/invitations/{token}/").status_code in (302, 303)
    account, _ = BillingAccount.objects.update_or_create(
        tenant=tenant, defaults={"plan": "business", "status": "active"}
    )
    with django_capture_on_commit_callbacks(execute=True):
        workspace_billing_state_apply(
            account=account, previous_status="active", previous_plan="pro", now=timezone.now()
        )

    expected = [
        "project.created",
        "project.updated",
        "task.created",
        "task.updated",
        "task.moved",
        "comment.created",
        "comment.deleted",
        "document.deleted",
        "task.deleted",
        "project.archived",
        "project.deleted",
        "member.role_changed",
        "member.removed",
        "invitation.created",
        "invitation.accepted",
        "member.joined",
        "billing.plan_changed",
    ]
    with in_tenant(tenant):
        assert list(Event.objects.order_by("id").values_list("type", flat=True)) == expected
        moved = Event.objects.get(type="task.moved")
        assert moved.data["status"] == "done"
        assert moved.data["title"] == "Ship it now"
        assert moved.project_id == project_id
    got = receiver.wait_for(len(expected))
    payloads = [verify_both(secret, item) for item in got]
    assert sorted(p["type"] for p in payloads) == sorted(expected)
    joined = next(p for p in payloads if p["type"] == "member.joined")
    assert joined["data"]["user"]["email"] == "ada@example.com"
    assert joined["data"]["id"] == Membership.objects.get(user__email="ada@example.com").pk
    created = next(p for p in payloads if p["type"] == "project.created")
    assert set(created["data"]) >= {"id", "name", "visibility", "created_by", "created_at"}
    assert "permissions" not in created["data"]  # depends on who reads: the API adds it, events leave it out
