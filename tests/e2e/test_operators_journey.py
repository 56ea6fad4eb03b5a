"""The operators' admin in a browser: an operator signs in with a second factor, reads the dashboard, finds a
workspace, signs in as one of its members read-only (the banner on the page, a write refused), and ends it, back in the
admin. Leaves the README's dashboard and impersonation pictures in the artifacts (copied by hand)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.conftest import ARTIFACTS, LiveSite, shoot
from tests.helpers import fresh_totp_code, manage_shell

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]

OPERATOR = "ops@e2e.test"
MEMBER = "dana@e2e.test"
PASSWORD = "e2e-operator-password"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # the operator's authenticator app, for this test only

SEED = (
    "from tests.e2e.operators_seed import seed; "
    "seed(operator={operator!r}, member={member!r}, password={password!r}, secret={secret!r})"
)
CLEAN = "from tests.e2e.operators_seed import clean; clean(operator={operator!r}, member={member!r})"


@pytest.fixture
def platform(live_site: LiveSite) -> Any:
    try:
        assert "seeded" in manage_shell(SEED.format(operator=OPERATOR, member=MEMBER, password=PASSWORD, secret=SECRET))
        yield
    finally:
        assert "cleaned" in manage_shell(CLEAN.format(operator=OPERATOR, member=MEMBER))


def test_an_operator_finds_a_workspace_and_sees_it_as_a_member_read_only(
    browser: Any, live_site: LiveSite, platform: Any
) -> None:
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    try:
        page = context.new_page()
        root = f"http://localhost:{live_site.port}"

        # Sign in: password, then the authenticator app's code.
        page.goto(root + "/admin/")
        page.wait_for_url(re.compile(r"/login/\?next="))
        page.get_by_label("Email").fill(OPERATOR)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in", exact=True).click()
        page.wait_for_url(re.compile(r"/accounts/2fa/authenticate/"))
        page.locator("input[name=code]").fill(fresh_totp_code(SECRET))
        page.get_by_role("button", name="Verify and sign in").click()
        page.wait_for_url(root + "/admin/")

        # The dashboard (its figures as of the last metrics refresh; a platform never refreshed gathers them first,
        # and the page fills them in when they are ready).
        page.locator("#ops-figures").get_by_text("Workspace figures as of").wait_for()
        main = page.locator("#content").inner_text()
        assert "How the platform is doing" in main
        assert "MRR" in main
        assert "Active workspaces, 7 days" in main
        assert "Needs attention" in main
        assert "E2E Company" in main  # its trial ends in 2 days
        shoot(page, "50-operators-dashboard")
        page.locator("#ops-figures").screenshot(path=str(ARTIFACTS / "50-operators-dashboard-figures.png"))

        # Find the workspace.
        page.get_by_role("link", name="Workspaces", exact=True).first.click()
        page.locator("#searchbar").fill("e2e-co")
        page.locator("#searchbar").press("Enter")
        page.get_by_role("link", name="E2E Company").click()
        page.wait_for_url(re.compile(r"/admin/tenants/tenant/\d+/change/"))
        detail_url = page.url
        assert MEMBER in page.locator("#content").inner_text()
        shoot(page, "51-operators-workspace")

        # Sign in as the member: re-enter the password, give a reason.
        page.locator("tr", has_text=MEMBER).get_by_role("link", name="Sign in as…").click()
        page.wait_for_url(re.compile(r"/accounts/reauthenticate/"))
        page.locator("input[name=password]").fill(PASSWORD)
        page.get_by_role("button", name="Continue").click()
        page.wait_for_url(re.compile(r"/impersonate/\d+/"))
        page.get_by_label("Reason").fill("Support ticket #4821: Dana cannot find the roadmap")
        page.get_by_role("button", name=f"Sign in as {MEMBER}").click()

        page.wait_for_url(live_site.url("e2e-co.localhost", "/"))
        banner = page.get_by_role("region", name="Atrium staff view")
        assert f"signed in to E2E Company as {MEMBER}" in banner.inner_text()
        assert "read-only" in banner.inner_text()
        shoot(page, "52-impersonated-page")
        page.screenshot(path=str(ARTIFACTS / "52-impersonated-page-viewport.png"))

        # A write is refused, under the same banner.
        page.goto(live_site.url("e2e-co.localhost", "/projects/new/"))
        page.get_by_label("Name").fill("Made by staff")
        page.get_by_role("button", name=re.compile("Create")).click()
        assert "Read-only: nothing was changed" in page.locator("main").inner_text()
        assert banner.is_visible()

        # End it: back in the admin, on the workspace's page, which says so.
        banner.get_by_role("button", name="End impersonation").click()
        page.wait_for_url(re.compile(re.escape(detail_url.split("?")[0])))
        assert "Ended by the operator" in page.locator("#content").inner_text()
    finally:
        context.close()
