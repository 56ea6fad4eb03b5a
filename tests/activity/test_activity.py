"""Activity: the workspace feed and a project's activity, read from the event stream, permission-filtered,
paginated, in a fixed number of queries; another workspace's events never show."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection as django_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tenant_apps.projects import services
from tenant_apps.projects.models import Visibility
from tests.conftest import client_for
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


def _tasks(tenant: Any, in_tenant: Any, owner: Any, project: Any, titles: list[str]) -> None:
    with in_tenant(tenant):
        for title in titles:
            services.task_create(project=project, title=title, acting_user=owner)


def test_workspace_feed_lists_what_the_viewer_may_see(tenant, in_tenant, owner, member) -> None:
    with in_tenant(tenant):
        open_project = ProjectFactory.create(name="Open house", visibility=Visibility.WORKSPACE)
        secret = ProjectFactory.create(name="Secret plan", visibility=Visibility.PRIVATE)
    _tasks(tenant, in_tenant, owner, open_project, ["Paint the door"])
    _tasks(tenant, in_tenant, owner, secret, ["Hide the gold"])
    client = client_for(tenant)
    client.force_login(member)
    page = client.get(reverse("workspace_activity")).content.decode()
    assert "Paint the door" in page
    assert "Hide the gold" not in page
    home = client.get(reverse("workspace_activity") + "?fragment=home").content.decode()
    assert "Paint the door" in home
    assert "Hide the gold" not in home
    owner_client = client_for(tenant)
    owner_client.force_login(owner)
    assert "Hide the gold" in owner_client.get(reverse("workspace_activity")).content.decode()


def test_project_activity_is_the_projects_and_refuses_hidden_projects(tenant, in_tenant, owner, member) -> None:
    with in_tenant(tenant):
        project = ProjectFactory.create(visibility=Visibility.WORKSPACE)
        other = ProjectFactory.create(visibility=Visibility.WORKSPACE)
        secret = ProjectFactory.create(visibility=Visibility.PRIVATE)
    _tasks(tenant, in_tenant, owner, project, ["Mine"])
    _tasks(tenant, in_tenant, owner, other, ["Elsewhere"])
    client = client_for(tenant)
    client.force_login(member)
    page = client.get(reverse("project_activity", args=[project.pk]))
    assert page.status_code == 200
    assert "Mine" in page.content.decode()
    assert "Elsewhere" not in page.content.decode()
    assert client.get(reverse("project_activity", args=[secret.pk])).status_code == 404


def test_workspace_b_activity_never_shows_in_a(tenant, other_tenant, in_tenant, owner, outsider) -> None:
    with in_tenant(other_tenant):
        theirs = ProjectFactory.create(pk=4242, visibility=Visibility.WORKSPACE)
        services.task_create(project=theirs, title="Globex secret task", acting_user=outsider)
    client = client_for(tenant)
    client.force_login(owner)
    assert "Globex secret task" not in client.get(reverse("workspace_activity")).content.decode()
    assert client.get(reverse("project_activity", args=[theirs.pk])).status_code == 404


@pytest.mark.parametrize("which", ["workspace", "project", "home"])
def test_activity_pages_cost_a_fixed_number_of_queries(tenant, in_tenant, owner, member, which) -> None:
    with in_tenant(tenant):
        project = ProjectFactory.create(visibility=Visibility.WORKSPACE)
    url = {
        "workspace": reverse("workspace_activity"),
        "project": reverse("project_activity", args=[project.pk]),
        "home": reverse("workspace_activity") + "?fragment=home",
    }[which]
    client = client_for(tenant)
    client.force_login(member)
    _tasks(tenant, in_tenant, owner, project, ["One"])
    client.get(url)
    with CaptureQueriesContext(django_connection) as one:
        assert client.get(url).status_code == 200
    _tasks(tenant, in_tenant, owner, project, [f"Task {n}" for n in range(30)])
    with CaptureQueriesContext(django_connection) as many:
        assert client.get(url).status_code == 200
    assert len(many) == len(one)
