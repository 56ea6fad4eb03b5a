"""An owner invites a teammate; the teammate opens the email link, sets a password (the link proves the address) and
lands in the workspace signed in, in one pass."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from tests.e2e.conftest import LiveSite, shoot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]


@pytest.mark.parametrize("invitee_viewport", [(1280, 800), (390, 844)], ids=["desktop", "phone"])
def test_an_owner_invites_a_member_who_accepts_from_the_email_and_sees_the_workspace(
    browser: Any, live_site: LiveSite, invitee_viewport: tuple[int, int]
) -> None:
    invitee = f"newbie-{uuid.uuid4().hex[:8]}@e2e.test"
    owner_ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    width, height = invitee_viewport
    invitee_ctx = browser.new_context(viewport={"width": width, "height": height})
    try:
        # the owner signs in on the workspace and opens Members → Invite people
        owner = owner_ctx.new_page()
        owner.goto(live_site.url("e2e-co.localhost", "/login/"))
        owner.get_by_label("Email").fill("owner@e2e.test")
        owner.get_by_label("Password").fill("e2e-owner-password")
        owner.get_by_role("button", name="Sign in", exact=True).click()
        owner.wait_for_url(live_site.url("e2e-co.localhost", "/"))
        owner.get_by_role("link", name="Members").click()
        owner.wait_for_url(live_site.url("e2e-co.localhost", "/settings/members/"))
        shoot(owner, "20-members-before")
        owner.get_by_role("link", name="Invite people").click()
        owner.get_by_label("Email addresses").fill(invitee)
        button = owner.get_by_role("button", name="Send 1 invitation")  # the label follows what is typed
        shoot(owner, "21-invite-form")
        button.click()
        owner.get_by_text("1 invitation sent").wait_for()
        assert invitee in owner.locator("table").inner_text()
        shoot(owner, "22-invitation-sent")

        # the email carries a link to the root domain
        mail = live_site.wait_for_mail(invitee)
        assert "Subject: owner@e2e.test invited you to a workspace on Atrium" in mail
        link = re.search(r"http://localhost:\d+/invitations/[A-Za-z0-9_\-]+/", mail)
        assert link, mail

        # the invitee opens it and sets a password (the address is the invitation's, verified by the link): in the
        # workspace in one pass, with no code to type and no second "Join"
        page = invitee_ctx.new_page()
        page.goto(link.group(0))
        assert "Join E2E Company" in page.locator("h1").inner_text()
        assert invitee in page.locator("main").inner_text()
        assert "name your workspace" not in page.locator("body").inner_text()
        shoot(page, "23-invitation-landing")
        page.get_by_label("Choose a password").fill("a-strong-passphrase-42")
        shoot(page, "24-invitee-password")
        page.get_by_role("button", name="Create account and join E2E Company").click()
        page.wait_for_url(live_site.url("e2e-co.localhost", "/"))
        assert len(live_site.mails_to(invitee)) == 1  # the invitation only: no code
        body = page.locator("body").inner_text()
        assert "E2E Company" in body
        assert invitee in body
        shoot(page, "26-invitee-in-workspace")
        page.goto(live_site.url("e2e-co.localhost", "/settings/profile/"))
        page.get_by_role("heading", name="Signed-in browsers").wait_for()
        assert "This session" in page.locator("#sessions").inner_text()
        shoot(page, "26b-invitee-profile")
        response = page.goto(live_site.url("e2e-co.localhost", "/settings/audit/"))
        assert response is not None
        assert response.status == 403  # a member: the audit log is for owners and admins
        shoot(page, "26c-member-refused-audit")

        # the owner sees the new member, and the audit log tells the story
        owner.goto(live_site.url("e2e-co.localhost", "/settings/members/"))
        assert invitee in owner.locator("table").inner_text()
        shoot(owner, "27-members-after")
        owner.goto(live_site.url("e2e-co.localhost", "/settings/audit/"))
        log = owner.locator("table").inner_text()
        assert "Invitation accepted" in log
        assert "Member joined" in log
        shoot(owner, "28-audit-log")
    finally:
        owner_ctx.close()
        invitee_ctx.close()
