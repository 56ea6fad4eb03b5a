"""The guided start: a checklist that ticks itself from what exists, until dismissed; trial days for owners only;
another workspace's progress never counts; fixed queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection as django_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from billing.models import BillingAccount, SubscriptionStatus
from tests.conftest import client_for
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


def test_the_checklist_ticks_itself_and_can_be_dismissed(tenant, other_tenant, in_tenant, owner) -> None:
    client = client_for(tenant)
    client.force_login(owner)
    with in_tenant(other_tenant):
        ProjectFactory.create()  # another workspace's project does not count here
    page = client.get(reverse("start_checklist")).content.decode()
    assert "0 of 4" in page
    assert "New project" in page
    assert "Invite your team" in page
    with in_tenant(tenant):
        ProjectFactory.create()
    page = client.get(reverse("start_checklist")).content.decode()
    assert "1 of 4" in page
    assert 'Create a project<span class="visually-hidden"> (done)' in page
    assert client.post(reverse("start_checklist_dismiss")).status_code == 302
    assert "Get" not in client.get(reverse("start_checklist")).content.decode()


def test_members_see_three_steps_and_no_trial(tenant, member) -> None:
    client = client_for(tenant)
    client.force_login(member)
    assert "of 3" in client.get(reverse("start_checklist")).content.decode()
    assert "trial" not in client.get(reverse("start_trial")).content.decode()


def test_owners_see_their_trial_days(tenant, owner) -> None:
    BillingAccount.objects.update_or_create(
        tenant=tenant,
        defaults={"status": SubscriptionStatus.TRIALING, "trial_end": timezone.now() + timedelta(days=9, hours=2)},
    )
    client = client_for(tenant)
    client.force_login(owner)
    assert "10 days left in your trial" in client.get(reverse("start_trial")).content.decode()


def test_another_workspaces_people_are_refused(tenant, outsider) -> None:
    client = client_for(tenant)
    client.force_login(outsider)
    assert client.get(reverse("start_checklist")).status_code in (302, 403, 404)
    assert client.post(reverse("start_checklist_dismiss")).status_code in (302, 403, 404)


@pytest.mark.parametrize("name", ["start_checklist", "start_trial"])
def test_fixed_queries(tenant, in_tenant, owner, name) -> None:
    client = client_for(tenant)
    client.force_login(owner)
    client.get(reverse(name))
    with CaptureQueriesContext(django_connection) as few:
        client.get(reverse(name))
    with in_tenant(tenant):
        ProjectFactory.create_batch(5)
    with CaptureQueriesContext(django_connection) as many:
        client.get(reverse(name))
    assert len(many) == len(few)
