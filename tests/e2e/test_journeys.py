"""The first minute of a newcomer: public site, a workspace on its own subdomain, and the doors that stay shut."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import LiveSite, shoot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]


def test_the_public_site_invites_you_to_create_a_workspace(page: Any, live_site: LiveSite) -> None:
    page.goto(live_site.url("localhost"))

    assert page.get_by_role("link", name="Create your workspace").first.is_visible()
    shoot(page, "01-landing")


def test_an_owner_signs_in_on_the_workspace_subdomain_and_sees_it(page: Any, live_site: LiveSite) -> None:
    page.goto(live_site.url("e2e-co.localhost"))
    assert "/login/" in page.url
    shoot(page, "02-tenant-login")

    page.get_by_label("Email").fill("owner@e2e.test")
    page.get_by_label("Password").fill("e2e-owner-password")
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(live_site.url("e2e-co.localhost", "/"))

    body = page.locator("body").inner_text()
    assert "E2E Company" in body
    assert "owner@e2e.test" in body
    assert "Getting started" in body  # the welcome task seeded the workspace
    shoot(page, "03-tenant-home")


def test_a_wrong_password_is_explained_and_the_email_kept(page: Any, live_site: LiveSite) -> None:
    page.goto(live_site.url("e2e-co.localhost", "/login/"))
    page.get_by_label("Email").fill("owner@e2e.test")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in", exact=True).click()

    assert page.get_by_label("Email").input_value() == "owner@e2e.test"
    assert "not correct" in page.locator("body").inner_text().lower()
    shoot(page, "04-login-error")


def test_an_unknown_subdomain_gets_the_no_workspace_page(page: Any, live_site: LiveSite) -> None:
    response = page.goto(live_site.url("nope.localhost"))

    assert response is not None
    assert response.status == 404
    assert "nope.localhost" in page.locator("body").inner_text()
    shoot(page, "05-unknown-host")
