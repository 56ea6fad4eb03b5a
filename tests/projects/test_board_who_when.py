"""The board shows who and when: initials, due dates (overdue in red), comment and attachment counts; filters by
assignee and due date; the same number of queries with a filter as without, and with many cards as with one."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection as django_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from shared_apps.web.templatetags.atrium import initials
from tenant_apps.projects.models import Document, Visibility
from tests.conftest import client_for
from tests.factories import CommentFactory, ProjectFactory, TaskFactory

pytestmark = pytest.mark.django_db


def test_initials() -> None:
    assert initials("Ann Lee") == "AL"
    assert initials("Cher") == "C"
    assert initials("ann@acme.test") == "A"
    assert initials("") == "?"


def test_cards_show_who_and_when(tenant, in_tenant, owner, member) -> None:
    today = timezone.localdate()
    with in_tenant(tenant):
        project = ProjectFactory.create(visibility=Visibility.WORKSPACE)
        late = TaskFactory.create(
            project=project, title="Late one", assignee=owner, due_date=today - dt.timedelta(days=2)
        )
        TaskFactory.create(project=project, title="Future one", due_date=today + dt.timedelta(days=3))
        CommentFactory.create(task=late, author=owner, body="hi")
        Document.objects.create(
            project=project,
            task=late,
            storage_prefix=tenant.schema_name,
            key=f"{tenant.schema_name}/files/{'a' * 32}.png",
            name="a.png",
            file_type="png",
            content_type="image/png",
            size=1,
        )
    client = client_for(tenant)
    client.force_login(member)
    page = client.get(reverse("project_board", args=[project.pk])).content.decode()
    assert "task-card__due--overdue" in page
    assert page.count("task-card__due--overdue") == 1
    assert '1<span class="visually-hidden"> attachment</span>' in page
    assert owner.get_full_name() in page


def test_filters_by_assignee_and_due(tenant, in_tenant, owner, member) -> None:
    today = timezone.localdate()
    with in_tenant(tenant):
        project = ProjectFactory.create(visibility=Visibility.WORKSPACE)
        TaskFactory.create(project=project, title="Mine late", assignee=member, due_date=today - dt.timedelta(days=1))
        TaskFactory.create(project=project, title="Theirs soon", assignee=owner, due_date=today + dt.timedelta(days=2))
        TaskFactory.create(project=project, title="Nobody's", assignee=None)
    client = client_for(tenant)
    client.force_login(member)
    url = reverse("project_board", args=[project.pk])

    def titles(query: str) -> set[str]:
        page = client.get(url + query).content.decode()
        return {t for t in ("Mine late", "Theirs soon", "Nobody&#x27;s") if t in page}

    assert titles("?assignee=me") == {"Mine late"}
    assert titles("?assignee=none") == {"Nobody&#x27;s"}
    assert titles(f"?assignee={owner.pk}") == {"Theirs soon"}
    assert titles("?due=overdue") == {"Mine late"}
    assert titles("?due=week") == {"Theirs soon"}
    assert titles("?due=none") == {"Nobody&#x27;s"}
    assert titles("?due=bogus&assignee=x") == {"Mine late", "Theirs soon", "Nobody&#x27;s"}


def test_board_queries_flat_with_filters_and_cards(tenant, in_tenant, owner, member) -> None:
    with in_tenant(tenant):
        project = ProjectFactory.create(visibility=Visibility.WORKSPACE)
        TaskFactory.create(project=project, assignee=owner)
    client = client_for(tenant)
    client.force_login(member)
    url = reverse("project_board", args=[project.pk]) + "?due=none&assignee=" + str(owner.pk)
    client.get(url)
    with CaptureQueriesContext(django_connection) as one:
        assert client.get(url).status_code == 200
    with in_tenant(tenant):
        TaskFactory.create_batch(20, project=project, assignee=owner)
    with CaptureQueriesContext(django_connection) as many:
        assert client.get(url).status_code == 200
    assert len(many) == len(one)
