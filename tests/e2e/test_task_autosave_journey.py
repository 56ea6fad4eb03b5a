"""The task page saves as you edit, in a browser: typing saves within a second and says "Saved"; a label ticked
shows on the board's card; when someone else saved in between, the page says so instead of overwriting them."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from tests.e2e.conftest import LiveSite, shoot
from tests.e2e.test_projects_journey import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]


def test_the_task_page_saves_as_you_edit_and_never_overwrites_someone_elses_save(
    browser: Any, live_site: LiveSite
) -> None:
    suffix = uuid.uuid4().hex[:6]
    first_ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    second_ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        first = first_ctx.new_page()
        sign_in(first, live_site, "owner@e2e.test", "e2e-owner-password")
        # a label for the workspace, made by its owner in Settings → Labels
        first.goto(live_site.url("e2e-co.localhost", "/settings/labels/"))
        first.locator("#id_name").fill(f"Urgent {suffix}")  # the new label's form (each row has its own fields)
        first.locator("#id_color").select_option("red")
        first.get_by_role("button", name="Add label").click()
        first.get_by_text(f"Added the label “Urgent {suffix}”.").wait_for()

        first.goto(live_site.url("e2e-co.localhost", "/projects/new/"))
        first.get_by_label("Name").fill(f"Autosave {suffix}")
        first.get_by_role("button", name="Create project").click()
        first.wait_for_url(re.compile(r"/projects/\d+/$"))
        board_url = first.url
        first.get_by_label("New task title").fill("Write the press release")
        first.get_by_role("button", name="Add task").click()
        first.locator(".task-card__title", has_text="Write the press release").click()
        first.wait_for_url(re.compile(r"/tasks/\d+/$"))
        task_url = first.url

        # when: typing in the description, then ticking a label — no button pressed
        with first.expect_response(lambda r: r.url == task_url and r.request.method == "POST"):
            first.get_by_label("Description").fill("Two paragraphs and a quote from the CEO.")
        first.locator('#task-save-status[data-outcome="saved"]').wait_for(timeout=3000)
        assert "Saved" in first.locator("#task-save-status").inner_text()
        first.get_by_label(f"Urgent {suffix}").check()
        first.wait_for_function("() => document.getElementById('task-version').value === '2'", timeout=3000)
        shoot(first, "70-task-autosaved")

        # then: the board's card carries the label, with no reload needed for the save
        second = second_ctx.new_page()
        sign_in(second, live_site, "owner@e2e.test", "e2e-owner-password")
        second.goto(board_url)
        card = second.locator(".task-card", has_text="Write the press release")
        assert f"Urgent {suffix}" in card.inner_text()

        # given: the second page opens the task and keeps its title field focused (so it is not refreshed live)
        second.goto(task_url)
        second.get_by_label("Title").click()
        # when: the first page saves a change, then the second types over the older version
        first.get_by_label("Title").fill("Write the press release (v2)")
        first.wait_for_function("() => document.getElementById('task-version').value === '3'", timeout=3000)
        second.get_by_label("Title").fill("Someone else's title")
        # then: the second page is told, and the first page's save stands
        status = second.locator('#task-save-status[data-outcome="conflict"]')
        status.wait_for(timeout=3000)
        assert "Someone else changed this task while you were editing it." in status.inner_text()
        shoot(second, "71-task-conflict")
        first.reload()
        assert first.get_by_label("Title").input_value() == "Write the press release (v2)"
    finally:
        first_ctx.close()
        second_ctx.close()
