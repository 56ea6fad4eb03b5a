"""Notifications: made from the event stream (assigned, mentioned, a comment on a followed task, an invitation
accepted), only for members who may see the project, once per event; the bell, the page, mark read / all read;
isolation between workspaces and people; query counts flat."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection as django_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from shared_apps.accounts.models import Role, User
from shared_apps.accounts.services import invitation_accept
from tenant_apps.audit.dispatch import events_dispatch
from tenant_apps.notifications.emails import headline, headline_html
from tenant_apps.notifications.models import Notification, NotificationKind, NotificationPreference, TaskFollow
from tenant_apps.notifications.services import handles, mentioned_in
from tenant_apps.projects import services
from tenant_apps.projects.models import Project, Task, Visibility
from tests.conftest import client_for
from tests.factories import MembershipFactory, ProjectFactory, TaskFactory, UserFactory
from tests.factories.people import invite
from tests.factories.projects import grant

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(tenant: Any) -> User:
    return MembershipFactory.create(
        tenant=tenant, role=Role.MEMBER, user__email="ann@acme.test", user__name="Ann Lee"
    ).user


@pytest.fixture
def bob(tenant: Any) -> User:
    return MembershipFactory.create(
        tenant=tenant, role=Role.MEMBER, user__email="bob@acme.test", user__name="Bob Ray"
    ).user


def _run(in_tenant: Any, tenant: Any, change: Any, capture: Any) -> Any:
    with in_tenant(tenant), capture(execute=True):
        result = change()
    return result


def _of(in_tenant: Any, tenant: Any, user: User) -> list[Notification]:
    with in_tenant(tenant):
        return list(Notification.objects.filter(recipient_id=user.pk).order_by("id"))


def test_handles_and_mentions() -> None:
    assert mentioned_in("Thanks @ann, and @Bob.Ray. mail a@b.c") == {"ann", "bob.ray"}
    user = User(email="ann.lee@acme.test", name="Ann Lee")
    assert handles(user) == {"ann.lee", "ann", "annlee"}


def test_assigning_notifies_the_assignee_once(
    tenant, in_tenant, owner, ann, django_capture_on_commit_callbacks
) -> None:
    with in_tenant(tenant):
        project = ProjectFactory.create(created_by=owner)
    task = _run(
        in_tenant,
        tenant,
        lambda: services.task_create(project=project, title="Ship it", acting_user=owner, assignee_id=ann.pk),
        django_capture_on_commit_callbacks,
    )
    [note] = _of(in_tenant, tenant, ann)
    assert (note.kind, note.subject, note.task_id, note.actor_id) == (
        NotificationKind.ASSIGNED,
        "Ship it",
        task.pk,
        owner.pk,
    )
    # an edit that keeps the assignee notifies nobody; the dispatcher running again adds nothing
    _run(
        in_tenant,
        tenant,
        lambda: services.task_update(
            task=task, title="Ship it now", description="", assignee_id=ann.pk, due_date=None, acting_user=owner
        ),
        django_capture_on_commit_callbacks,
    )
    with in_tenant(tenant):
        events_dispatch()
    assert len(_of(in_tenant, tenant, ann)) == 1
    assert _of(in_tenant, tenant, owner) == []  # nobody hears of their own change


def test_comment_notifies_followers_and_mentions(
    tenant, in_tenant, owner, ann, bob, django_capture_on_commit_callbacks
) -> None:
    with in_tenant(tenant):
        project = ProjectFactory.create(created_by=owner)
        grant(bob, project, "change")
        task = TaskFactory.create(project=project, created_by=owner, assignee=None)
        TaskFollow.objects.create(task=task, user=bob)
    _run(
        in_tenant,
        tenant,
        lambda: services.comment_create(task=task, body="@ann can you look?", acting_user=bob),
        django_capture_on_commit_callbacks,
    )
    [to_ann] = _of(in_tenant, tenant, ann)
    [to_owner] = _of(in_tenant, tenant, owner)
    assert to_ann.kind == NotificationKind.MENTIONED
    assert to_ann.excerpt == "@ann can you look?"
    assert to_owner.kind == NotificationKind.COMMENTED  # the creator follows the task
    assert _of(in_tenant, tenant, bob) == []  # the author is not told of their own comment
    assert to_ann.actor_name == "Bob Ray"


def test_private_project_notifies_only_people_who_see_it(
    tenant, in_tenant, owner, ann, bob, django_capture_on_commit_callbacks
) -> None:
    with in_tenant(tenant):
        project = ProjectFactory.create(created_by=owner, visibility=Visibility.PRIVATE)
        grant(bob, project, "change")
        task = TaskFactory.create(project=project, created_by=owner)
    _run(
        in_tenant,
        tenant,
        lambda: services.comment_create(task=task, body="@ann @owner secret plans", acting_user=bob),
        django_capture_on_commit_callbacks,
    )
    assert _of(in_tenant, tenant, ann) == []  # mentioned, but cannot see the project
    assert len(_of(in_tenant, tenant, owner)) == 1


def _note(tenant: Any, in_tenant: Any, user: User, n: int = 1, project: Project | None = None) -> list[Notification]:
    _note.made = getattr(_note, "made", 0) + n  # type: ignore[attr-defined]
    first = _note.made  # type: ignore[attr-defined]
    with in_tenant(tenant):
        project = project or ProjectFactory.create()
        task = TaskFactory.create(project=project)
        return Notification.objects.bulk_create(
            [
                Notification(
                    recipient_id=user.pk,
                    kind=NotificationKind.ASSIGNED,
                    event_id=f"evt_test{first + i:06d}",
                    actor_name="Someone",
                    subject=f"Task {i}",
                    project_id=project.pk,
                    task_id=task.pk,
                    created_at=task.created_at,
                )
                for i in range(n)
            ]
        )


def test_bell_page_mark_read_and_all_read(tenant, in_tenant, member) -> None:
    notes = _note(tenant, in_tenant, member, 3)
    client = client_for(tenant)
    client.force_login(member)
    assert b">3</span>" in client.get(reverse("notifications_bell")).content
    page = client.get(reverse("notifications"))
    assert page.status_code == 200
    assert b"Task 2" in page.content
    assert b"Mark all 3 as read" in page.content
    answer = client.post(reverse("notification_read", args=[notes[0].pk]))
    assert answer.status_code == 302
    assert b">2</span>" in client.get(reverse("notifications_bell")).content
    client.post(reverse("notifications_read_all"))
    assert b">0</span>" in client.get(reverse("notifications_bell")).content


def test_someone_elses_notification_is_not_found(tenant, in_tenant, member, owner) -> None:
    [note] = _note(tenant, in_tenant, owner)
    client = client_for(tenant)
    client.force_login(member)
    assert client.post(reverse("notification_read", args=[note.pk])).status_code == 404
    with in_tenant(tenant):
        assert Notification.objects.get(pk=note.pk).read_at is None


def test_workspace_a_cannot_see_b_notifications(tenant, other_tenant, in_tenant, member, outsider) -> None:
    """B's notifications (same ids as A's may be) never show or change through A's host, nor A's through B's."""
    [mine] = _note(tenant, in_tenant, member)
    [theirs] = _note(other_tenant, in_tenant, outsider)
    client = client_for(tenant)
    client.force_login(member)
    page = client.get(reverse("notifications"))
    assert page.status_code == 200
    assert b"Task 0" in page.content
    other = client_for(other_tenant)
    other.force_login(member)  # not a member of B
    assert other.get(reverse("notifications")).status_code in (302, 403, 404)
    assert other.post(reverse("notification_read", args=[theirs.pk])).status_code in (302, 403, 404)
    outsider_client = client_for(tenant)
    outsider_client.force_login(outsider)
    assert outsider_client.get(reverse("notifications_bell")).status_code in (302, 403, 404)
    with in_tenant(other_tenant):
        assert Notification.objects.get(pk=theirs.pk).read_at is None
    with in_tenant(tenant):
        assert Notification.objects.get(pk=mine.pk).read_at is None


def test_revoked_access_hides_old_notifications(tenant, in_tenant, member, owner) -> None:
    with in_tenant(tenant):
        project = ProjectFactory.create(visibility=Visibility.WORKSPACE)
    _note(tenant, in_tenant, member, 1, project=project)
    client = client_for(tenant)
    client.force_login(member)
    assert b"Task 0" in client.get(reverse("notifications")).content
    with in_tenant(tenant):
        Project.objects.filter(pk=project.pk).update(visibility=Visibility.PRIVATE)
    assert b"Task 0" not in client.get(reverse("notifications")).content
    assert b">0</span>" in client.get(reverse("notifications_bell")).content


@pytest.mark.parametrize("url_name", ["notifications", "notifications_bell"])
def test_query_counts_are_flat(tenant, in_tenant, member, url_name) -> None:
    client = client_for(tenant)
    client.force_login(member)
    _note(tenant, in_tenant, member, 1)
    client.get(reverse(url_name))  # warm caches
    with CaptureQueriesContext(django_connection) as one:
        assert client.get(reverse(url_name)).status_code == 200
    _note(tenant, in_tenant, member, 25)
    with CaptureQueriesContext(django_connection) as many:
        assert client.get(reverse(url_name)).status_code == 200
    assert len(many) == len(one)


def test_follow_and_unfollow(tenant, in_tenant, member) -> None:
    with in_tenant(tenant):
        task = TaskFactory.create()
    client = client_for(tenant)
    client.force_login(member)
    url = reverse("task_follow", args=[task.project_id, task.pk])
    assert client.post(url, {"follow": "1"}).status_code == 302
    with in_tenant(tenant):
        assert TaskFollow.objects.filter(task=task, user_id=member.pk).exists()
    client.post(url, {"follow": "0"})
    with in_tenant(tenant):
        assert not TaskFollow.objects.filter(task=task, user_id=member.pk).exists()
        assert Task.objects.filter(pk=task.pk).exists()


def test_an_accepted_invitation_notifies_who_sent_it(
    tenant, in_tenant, owner, django_capture_on_commit_callbacks
) -> None:
    token = invite(tenant, "newcomer@acme.test", invited_by=owner)
    newcomer = UserFactory.create(email="newcomer@acme.test", name="New Comer")
    with django_capture_on_commit_callbacks(execute=True):
        invitation_accept(token=token, user=newcomer)
    [note] = _of(in_tenant, tenant, owner)
    assert note.kind == NotificationKind.INVITATION_ACCEPTED
    assert note.subject == "newcomer@acme.test"
    assert note.actor_id == newcomer.pk


def test_email_at_once_with_a_one_click_unsubscribe(
    tenant, other_tenant, in_tenant, owner, ann, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    with in_tenant(tenant):
        project = ProjectFactory.create(created_by=owner)
    _run(
        in_tenant,
        tenant,
        lambda: services.task_create(project=project, title="Call the printer", acting_user=owner, assignee_id=ann.pk),
        django_capture_on_commit_callbacks,
    )
    [mail] = [m for m in mailoutbox if m.to == [ann.email]]
    assert "assigned you “Call the printer”" in mail.subject
    assert tenant.name in mail.subject
    unsubscribe = mail.extra_headers["List-Unsubscribe"].strip("<>")
    assert mail.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    path = unsubscribe.split(":8000", 1)[-1].split("localhost", 1)[-1]
    path = path[path.index("/notifications/") :]
    anonymous = client_for(tenant)
    assert anonymous.get(path).status_code == 200  # a page with one button
    assert anonymous.post(path).status_code == 200  # the one click (no cookie, no CSRF token)
    with in_tenant(tenant):
        assert NotificationPreference.objects.get(user_id=ann.pk, kind="assigned").email == "off"
    # then: the next assignment notifies under the bell, without an email
    mailoutbox.clear()
    _run(
        in_tenant,
        tenant,
        lambda: services.task_create(project=project, title="Second", acting_user=owner, assignee_id=ann.pk),
        django_capture_on_commit_callbacks,
    )
    assert [m for m in mailoutbox if m.to == [ann.email]] == []
    assert len(_of(in_tenant, tenant, ann)) == 2
    # another workspace's host refuses the token, and a forged one is not found
    assert client_for(other_tenant).post(path).status_code == 404
    assert anonymous.post("/notifications/unsubscribe/forged/").status_code == 404


def test_preferences_page(tenant, in_tenant, member) -> None:
    client = client_for(tenant)
    client.force_login(member)
    page = client.get(reverse("notification_preferences"))
    assert page.status_code == 200
    assert b"Mentioned you" in page.content
    client.post(reverse("notification_preferences"), {"mentioned": "off", "assigned": "immediately", "bogus": "x"})
    with in_tenant(tenant):
        chosen = dict(NotificationPreference.objects.filter(user_id=member.pk).values_list("kind", "email"))
    assert chosen["mentioned"] == "off"
    assert chosen["assigned"] == "immediately"


def test_mention_completion_lists_who_may_see_the_project(tenant, in_tenant, owner, ann, bob) -> None:
    with in_tenant(tenant):
        private = ProjectFactory.create(visibility=Visibility.PRIVATE)
        grant(bob, private, "change")
        open_project = ProjectFactory.create(visibility=Visibility.WORKSPACE)
    client = client_for(tenant)
    client.force_login(bob)
    found = client.get(reverse("mention_complete", args=[private.pk]), {"q": ""}).json()["results"]
    handles_found = {r["handle"] for r in found}
    assert "bob" in handles_found
    assert "ann" not in handles_found  # cannot see the private project
    assert owner.email.split("@")[0] in handles_found  # owners see everything
    assert client.get(reverse("mention_complete", args=[open_project.pk]), {"q": "an"}).json()["results"] == [
        {"handle": "ann", "name": "Ann Lee"}
    ]
    stranger = client_for(tenant)
    stranger.force_login(ann)
    assert stranger.get(reverse("mention_complete", args=[private.pk])).status_code == 404


def test_a_headline_is_one_sentence_in_the_readers_word_order() -> None:
    assigned = Notification(kind=NotificationKind.ASSIGNED, actor_name="Ann <Lee>", subject="Print <b>")
    due = Notification(kind=NotificationKind.DUE_TOMORROW, actor_name="", subject="Print")
    with translation.override("de"):
        assert headline(assigned) == "Ann <Lee> hat Ihnen “Print <b>” zugewiesen"
        assert headline(due) == "“Print” ist morgen fällig"
        assert headline_html(assigned, "/projects/1/tasks/2/") == (
            '<strong>Ann &lt;Lee&gt;</strong> hat Ihnen <a href="/projects/1/tasks/2/">Print &lt;b&gt;</a> zugewiesen'
        )
    with translation.override("es"):
        assert headline(assigned) == "Ann <Lee> te asignó “Print <b>”"
