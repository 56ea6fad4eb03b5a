"""Live updates in a browser: two people on one board; one moves a card, the other sees it move within 2 s without a
reload and sees a new card appear; a comment that mentions them rings their bell, and the notifications page lists
it until they mark it read."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import pytest

from tests.e2e.conftest import LiveSite, shoot
from tests.e2e.test_projects_journey import add_member, column, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]


def test_a_card_moved_by_one_person_moves_on_the_others_board(browser: Any, live_site: LiveSite) -> None:
    suffix = uuid.uuid4().hex[:6]
    member_email, member_password = f"lin-{suffix}@e2e.test", "lin-e2e-password-42"
    add_member(member_email, member_password, f"Lin {suffix}")
    owner_ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    member_ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        owner = owner_ctx.new_page()
        sign_in(owner, live_site, "owner@e2e.test", "e2e-owner-password")
        owner.goto(live_site.url("e2e-co.localhost", "/projects/new/"))
        owner.get_by_label("Name").fill(f"Live board {suffix}")
        owner.get_by_role("button", name="Create project").click()
        owner.wait_for_url(re.compile(r"/projects/\d+/$"))
        board_url = owner.url
        owner.get_by_label("New task title").fill("Print the posters")
        owner.get_by_role("button", name="Add task").click()
        owner.locator(".task-card__title", has_text="Print the posters").wait_for()

        member = member_ctx.new_page()
        sign_in(member, live_site, member_email, member_password)
        with member.expect_response(lambda r: "/live/projects/" in r.url):
            member.goto(board_url)
        assert column(member, "todo") == ["Print the posters"]
        time.sleep(0.3)  # the stream is open; its subscription is in place

        # when: the owner moves the card to Doing
        with owner.expect_response(lambda r: r.url.endswith("/move/") and r.status == 200):
            owner.get_by_role("button", name="Move to Doing: Print the posters").click()
        moved_at = time.monotonic()

        # then: the member's board shows it in Doing within 2 s, without a reload
        member.locator('[data-status="doing"] .task-card__title', has_text="Print the posters").wait_for(timeout=2000)
        assert time.monotonic() - moved_at < 2.0
        assert column(member, "todo") == []
        shoot(member, "60-live-board")

        # a task the owner adds for the member, assigned to them, rings the member's bell
        owner.get_by_label("New task title").fill("Order the banners")
        owner.get_by_role("button", name="Add task").click()
        owner.locator(".task-card__title", has_text="Order the banners").wait_for()
        member.locator('[data-status="todo"] .task-card__title', has_text="Order the banners").wait_for(timeout=2000)

        # a comment that mentions the member rings their bell within 2 s, and the notifications page lists it
        assert member.locator("[data-bell-count]").inner_text() == "0"
        owner.locator(".task-card__title", has_text="Order the banners").click()
        owner.wait_for_url(re.compile(r"/tasks/\d+/$"))
        owner.get_by_role("textbox", name="Comment").fill(f"@lin-{suffix} can you order these by Friday?")
        owner.get_by_role("button", name="Add comment").click()
        owner.locator(".comment__body", has_text="order these by Friday").wait_for()
        member.wait_for_function(
            "() => (document.querySelector('[data-bell-count]') || {}).textContent === '1'", timeout=2000
        )
        shoot(member, "61-bell")
        member.get_by_role("link", name=re.compile("Notifications")).click()
        member.wait_for_url(re.compile(r"/notifications/$"))
        assert "mentioned you on" in member.locator("main").inner_text()
        shoot(member, "62-notifications")
        member.get_by_role("button", name=re.compile("Mark all 1 as read")).click()
        member.wait_for_function(
            "() => (document.querySelector('[data-bell-count]') || {}).textContent === '0'", timeout=2000
        )
    finally:
        owner_ctx.close()
        member_ctx.close()
