"""An owner upgrades through the test-mode Checkout page of the local Stripe server and sees the new plan (issue 13).
The local server also delivers its signed webhooks to the live server meanwhile."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.conftest import LiveSite, shoot
from tests.stripe_fixtures import LocalStripe

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]


def test_an_owner_upgrades_through_checkout_and_sees_the_new_plan(
    browser: Any, live_site: LiveSite, local_stripe: LocalStripe
) -> None:
    local_stripe.configure(webhook_url=f"http://localhost:{live_site.port}/billing/webhooks/stripe/")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(live_site.url("e2e-co.localhost", "/login/"))
        page.get_by_label("Email").fill("owner@e2e.test")
        page.get_by_label("Password").fill("e2e-owner-password")
        page.get_by_role("button", name="Sign in", exact=True).click()
        page.wait_for_url(live_site.url("e2e-co.localhost", "/"))

        page.get_by_role("link", name="Billing").first.click()
        page.wait_for_url(live_site.url("e2e-co.localhost", "/settings/billing/"))
        body = page.locator("main").inner_text()
        assert "Trial" in body
        assert "days left" in body
        shoot(page, "40-billing-trial")

        page.get_by_role("button", name="Upgrade to Business").click()
        page.wait_for_url(re.compile(r"127\.0\.0\.1:\d+/_local/checkout/"))
        checkout = page.locator("body").inner_text()
        assert "TEST MODE" in checkout
        assert "$0.00" in checkout  # the trial goes on: nothing is due today
        shoot(page, "41-checkout-test-mode")
        page.get_by_role("button", name="Subscribe").click()

        page.wait_for_url(live_site.url("e2e-co.localhost", "/settings/billing/"))
        page.get_by_text("is on the Business plan now").wait_for()
        main = page.locator("main").inner_text()
        assert "Business" in main
        assert "Trial" in main  # carried over by Checkout, with a card now
        assert "•••• 4242" in main
        shoot(page, "42-billing-business")
    finally:
        local_stripe.configure(webhook_url="")
        context.close()
