"""An organization signs itself up on the root domain and lands on its own subdomain, signed in (issue 4)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.conftest import LiveSite, shoot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]


def test_an_organization_signs_up_and_lands_on_its_subdomain(page: Any, live_site: LiveSite) -> None:
    email = "founder@hooli.test"

    page.goto(live_site.url("localhost"))
    page.get_by_role("link", name="Create your workspace").first.click()
    page.wait_for_url(re.compile(r"/accounts/signup/"))
    shoot(page, "10-signup-account")

    page.fill("input[name=email]", email)
    page.fill("input[name=password1]", "a-strong-passphrase-42")
    page.press("input[name=password1]", "Enter")
    page.wait_for_url(re.compile(r"/accounts/confirm-email/"))
    shoot(page, "11-signup-verify-code")

    mail = live_site.wait_for_mail(email)
    code = re.search(r"^\s*([A-Z0-9]{4}-?[A-Z0-9]{4})\s*$", mail, re.MULTILINE)
    assert code, mail
    page.fill("input[name=code]", code.group(1))
    page.press("input[name=code]", "Enter")
    page.wait_for_url(re.compile(r"/signup/workspace/"))

    page.fill("input[name=name]", "Hooli")
    page.fill("input[name=subdomain]", "hooli")
    page.get_by_text("hooli.localhost is available").wait_for()
    shoot(page, "12-signup-workspace")
    page.get_by_role("button", name="Create workspace").click()

    page.wait_for_url(live_site.url("hooli.localhost", "/"))
    body = page.locator("body").inner_text()
    assert "Hooli" in body
    assert email in body
    shoot(page, "13-signup-landed")


def test_a_taken_subdomain_is_flagged_while_typing(page: Any, live_site: LiveSite) -> None:
    page.goto(live_site.url("localhost", "/accounts/login/"))
    page.fill("input[name=login]", "owner@e2e.test")
    page.fill("input[name=password]", "e2e-owner-password")
    page.press("input[name=password]", "Enter")
    page.wait_for_url(re.compile(r"e2e-co\.localhost"))  # the only workspace: straight there, by handoff

    page.goto(live_site.url("localhost", "/signup/workspace/"))
    page.fill("input[name=subdomain]", "e2e-co")
    page.get_by_text("is taken").wait_for()
    shoot(page, "14-signup-subdomain-taken")
