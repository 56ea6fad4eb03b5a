"""The product in a browser: an owner creates a private project, adds tasks, drags one across the board (and moves
another with the keyboard), shares the project with a member, who then finds it and comments on a task."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from tests.e2e.conftest import LiveSite, shoot
from tests.helpers import manage_shell

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]

ADD_MEMBER = """
from allauth.account.models import EmailAddress
from shared_apps.accounts.models import Membership, Role, User
from tenants.models import Domain
user = User.objects.create_user({email!r}, {password!r}, name={name!r})
EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
Membership.objects.create(user=user, tenant=Domain.objects.get(domain="e2e-co.localhost").tenant, role=Role.MEMBER)
"""


def add_member(email: str, password: str, name: str) -> None:
    """A member of the journeys' workspace, committed where the live server reads (as an accepted invitation would)."""
    manage_shell(ADD_MEMBER.format(email=email, password=password, name=name))


def sign_in(page: Any, live_site: LiveSite, email: str, password: str) -> None:
    page.goto(live_site.url("e2e-co.localhost", "/login/"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(live_site.url("e2e-co.localhost", "/"))


def moved(page: Any, title: str) -> None:
    """Wait until the server's new board is in place and has given the keyboard focus back to the moved card."""
    page.wait_for_function(
        "t => { const a = document.activeElement;"
        " return !!a && !!a.closest('.task-card--moved') && a.textContent.trim() === t; }",
        arg=title,
    )


def column(page: Any, status: str) -> list[str]:
    titles = page.locator(f'[data-status="{status}"] .task-card__title').all_inner_texts()
    return [t.strip() for t in titles]


def test_a_project_from_creation_to_a_teammates_comment(browser: Any, live_site: LiveSite) -> None:
    suffix = uuid.uuid4().hex[:6]
    project_name = f"Spring launch {suffix}"
    member_email, member_password = f"rosa-{suffix}@e2e.test", "rosa-e2e-password-42"
    add_member(member_email, member_password, "Rosa Member")
    owner_ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    member_ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        owner = owner_ctx.new_page()
        board_url = create_private_project(owner, live_site, project_name)
        add_tasks_and_move_them(owner, board_url)
        member = member_ctx.new_page()
        share_and_comment(owner, member, live_site, project_name, board_url, (member_email, member_password))
        assign_with_a_due_date(owner, board_url)
    finally:
        owner_ctx.close()
        member_ctx.close()


def create_private_project(owner: Any, live_site: LiveSite, project_name: str) -> str:
    """The owner starts from the workspace's home, which leads into projects; returns the new board's URL."""
    sign_in(owner, live_site, "owner@e2e.test", "e2e-owner-password")
    owner.get_by_role("link", name="New project").first.click()
    owner.wait_for_url(re.compile(r"/projects/new/$"))
    owner.get_by_label("Name").fill(project_name)
    owner.get_by_label("Description").fill("Everything for the spring launch: copy, visuals, the event.")
    owner.get_by_text("Private", exact=True).click()
    shoot(owner, "30-new-project")
    owner.get_by_role("button", name="Create project").click()
    owner.wait_for_url(re.compile(r"/projects/\d+/$"))
    board_url = owner.url
    assert "Add the first task above" in owner.locator("#board").inner_text()  # the empty board says what to do
    return str(board_url)


def add_tasks_and_move_them(owner: Any, board_url: str) -> None:
    """Tasks added in place; one dragged into Doing, one reordered by dragging, one moved with the keyboard."""
    # tasks are added in place (HTMX), each at the bottom of To do
    for title in ("Write the announcement", "Design the banner", "Book the venue", "Send the invitations"):
        owner.get_by_label("New task title").fill(title)
        owner.get_by_role("button", name="Add task").click()
        owner.locator(".task-card__title", has_text=title).wait_for()
    assert column(owner, "todo") == [
        "Write the announcement",
        "Design the banner",
        "Book the venue",
        "Send the invitations",
    ]

    # drag a card into Doing; the server's board replaces the page's, and a reload shows the same
    with owner.expect_response(lambda r: r.url.endswith("/move/") and r.status == 200):
        owner.locator(".task-card", has_text="Design the banner").drag_to(
            owner.locator('[data-status="doing"] [data-cards]')
        )
    moved(owner, "Design the banner")
    assert "Design the banner" in column(owner, "doing")
    # and reorder inside a column by dragging onto the top of the first card
    with owner.expect_response(lambda r: r.url.endswith("/move/") and r.status == 200):
        owner.locator(".task-card", has_text="Send the invitations").drag_to(
            owner.locator(".task-card", has_text="Write the announcement"), target_position={"x": 20, "y": 4}
        )
    moved(owner, "Send the invitations")
    assert column(owner, "todo")[0] == "Send the invitations"
    # the keyboard's way: Tab to a card's arrow and press Enter; focus stays with the moved card
    for target in ("Doing", "Done"):
        owner.get_by_role("button", name=f"Move to {target}: Book the venue").focus()
        with owner.expect_response(lambda r: r.url.endswith("/move/") and r.status == 200):
            owner.keyboard.press("Enter")
        moved(owner, "Book the venue")
        assert "Book the venue" in column(owner, target.lower())
    owner.goto(board_url)
    assert column(owner, "todo") == ["Send the invitations", "Write the announcement"]
    assert column(owner, "doing") == ["Design the banner"]
    assert column(owner, "done") == ["Book the venue"]
    shoot(owner, "31-board")


def share_and_comment(
    owner: Any, member: Any, live_site: LiveSite, project_name: str, board_url: str, login: tuple[str, str]
) -> None:
    """The private project is shared with the member, who then finds it and comments on a task."""
    member_email, member_password = login
    # a private project: the member does not see it yet
    sign_in(member, live_site, member_email, member_password)
    member.goto(live_site.url("e2e-co.localhost", "/projects/"))
    assert project_name not in member.locator("main").inner_text()

    # the owner shares it with the member, who may then edit (and so comment)
    owner.get_by_role("link", name="Share").click()
    owner.wait_for_url(re.compile(r"/sharing/$"))
    owner.get_by_label(f"Access of Rosa Member to {project_name}").select_option("change")
    owner.get_by_role("button", name="Save access").click()
    owner.get_by_text("Updated access for 1 person.").wait_for()
    shoot(owner, "32-sharing")

    # the member now finds it, opens the task and comments
    member.goto(live_site.url("e2e-co.localhost", "/projects/"))
    member.get_by_role("link", name=project_name).click()
    member.wait_for_url(board_url)
    member.get_by_role("link", name="Design the banner").click()
    member.wait_for_url(re.compile(r"/tasks/\d+/$"))
    member.get_by_label("Comment", exact=True).fill("First draft of the banner is up; feedback welcome.")
    member.get_by_role("button", name="Add comment").click()
    member.locator(".comment", has_text="First draft of the banner").wait_for()
    assert "Rosa Member" in member.locator(".comment-list").inner_text()
    shoot(member, "33-task-comment")


def assign_with_a_due_date(owner: Any, board_url: str) -> None:
    # the owner assigns the task to the member with a due date; the board shows both and the comment count
    owner.goto(board_url)
    owner.get_by_role("link", name="Design the banner").click()
    owner.get_by_label("Assignee").select_option(label="Rosa Member")  # saved as it changes
    owner.locator('#task-save-status[data-outcome="saved"]').wait_for()
    assigned = owner.locator("#task-version").get_attribute("value")
    owner.get_by_label("Due date").fill("2030-04-15")
    owner.get_by_role("button", name="Save task").click()  # it also saves as you edit; the button saves at once
    # saved when the task's version moved on from the assignment's and no save is still on its way
    owner.wait_for_function(
        "v => document.querySelector('#task-version').value !== v && !document.querySelector('.htmx-request')",
        arg=assigned,
    )
    owner.goto(board_url)
    card = owner.locator('[data-status="doing"] .task-card', has_text="Design the banner").inner_text()
    assert "Rosa Member" in card
    assert "Apr 15" in card
    assert "1\ncomment" in card  # the count, and for screen readers what it counts
    shoot(owner, "34-board-assigned")  # the README's picture of the board (static/img/readme/board.png)
