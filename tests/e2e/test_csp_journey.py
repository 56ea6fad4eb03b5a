"""Every main page under the enforced Content Security Policy, in Chromium: the public site, sign-up, the workspace's
pages and settings tabs, the API docs, the operators' admin, and the error pages. A page fails on any violation
(its `securitypolicyviolation` events and Chromium's console reports), on a script error, or when it was not sent the
enforced header at all."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from tests.e2e.conftest import CspWatch, LiveSite
from tests.helpers import subprocess_env, totp_code

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]

HOST = "e2e-co.localhost"
OWNER, OWNER_PASSWORD = "owner@e2e.test", "e2e-owner-password"
MEMBER, OPERATOR, PASSWORD = "csp-member@e2e.test", "csp-ops@e2e.test", "csp-e2e-password-42"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXQ"  # the operator's authenticator app, for this test only
SUSPENDED = "csp-off"

SEED = f"""
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import TOTP
from shared_apps.accounts.models import Membership, Role, User
from tenants.models import Domain
member = User.objects.create_user({MEMBER!r}, {PASSWORD!r}, name="Casey Member")
EmailAddress.objects.create(user=member, email=member.email, primary=True, verified=True)
Membership.objects.create(user=member, tenant=Domain.objects.get(domain={HOST!r}).tenant, role=Role.MEMBER)
ops = User.objects.create_user({OPERATOR!r}, {PASSWORD!r}, name="Otto Operator", is_staff=True, is_superuser=True)
EmailAddress.objects.create(user=ops, email=ops.email, primary=True, verified=True)
TOTP.activate(ops, {SECRET!r})
"""
# Accounts are deleted from the workspace's schema: their rows there (object permissions, audit entries) go with them.
CLEAN = f"""
from django_tenants.utils import schema_context
from shared_apps.accounts.models import User
from tenants.models import Domain
with schema_context(Domain.objects.get(domain={HOST!r}).tenant.schema_name):
    User.objects.filter(email__in=[{MEMBER!r}, {OPERATOR!r}, "{SUSPENDED}@e2e.test"]).delete()
"""


def manage(*args: str, live_site: LiveSite) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        capture_output=True,
        text=True,
        env=subprocess_env(SITE_PORT=str(live_site.port)),
        cwd=settings.BASE_DIR,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture
def people(live_site: LiveSite) -> Iterator[None]:
    """A member of the workspace, an operator with a second factor, and a suspended workspace."""
    manage("shell", "-c", SEED, live_site=live_site)
    owner = f"{SUSPENDED}@e2e.test"
    manage(
        "tenant", "create", "--slug", SUSPENDED, "--name", "Suspended Co", "--owner-email", owner, live_site=live_site
    )
    manage("tenant", "suspend", SUSPENDED, "--reason", "CSP journey", live_site=live_site)
    try:
        yield
    finally:
        manage("tenant", "delete", SUSPENDED, "--yes", live_site=live_site)
        manage("shell", "-c", CLEAN, live_site=live_site)


class Tour:
    """Visits pages and keeps, per page, the violations and script errors seen while it loaded."""

    def __init__(self, page: Any, watch: CspWatch) -> None:
        self.page, self.watch = page, watch
        self.problems: dict[str, list[str]] = {}
        self.visited: list[str] = []
        page.on("pageerror", lambda error: watch.violations.append(f"script error: {error}"))

    def check(self, label: str) -> None:
        """Let the page settle, then file what it reported under `label`."""
        self.page.wait_for_load_state("networkidle")
        found = self.watch.take()
        self.visited.append(label)
        if found:
            self.problems[label] = found

    def visit(self, url: str, *, status: int = 200) -> Any:
        response = self.page.goto(url)
        assert response is not None, url
        assert response.status == status, (url, response.status)
        headers = response.all_headers()
        assert "default-src 'self'" in headers.get("content-security-policy", ""), (url, headers)
        self.check(url)
        return response


def sign_in(page: Any, url: str, email: str, password: str) -> None:
    page.goto(url)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def first_href(page: Any, pattern: str) -> str:
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))")
    found = next((h for h in hrefs if re.fullmatch(pattern, h)), None)
    assert found, (pattern, hrefs)
    return str(found)


def test_the_listener_reports_a_violation(page: Any, live_site: LiveSite, csp_watch: CspWatch) -> None:
    """The control: a style attribute written by script is refused, and the tour would see it."""
    page.goto(live_site.url("localhost"))
    page.evaluate("document.body.insertAdjacentHTML('beforeend', '<p style=\"color: red\">x</p>')")
    page.wait_for_function("() => true")
    page.wait_for_load_state("networkidle")

    found = csp_watch.take()
    assert any("style-src-attr" in v for v in found), found


def test_every_main_page_loads_without_a_policy_violation(
    browser: Any, live_site: LiveSite, csp_watch: CspWatch, people: None
) -> None:
    root = f"http://localhost:{live_site.port}"
    ws = f"http://{HOST}:{live_site.port}"
    visitor = Tour(browser.new_context().new_page(), csp_watch)
    owner = Tour(browser.new_context(viewport={"width": 1280, "height": 900}).new_page(), csp_watch)
    member = Tour(browser.new_context().new_page(), csp_watch)
    operator = Tour(browser.new_context(viewport={"width": 1360, "height": 900}).new_page(), csp_watch)

    tour_public_site(visitor, root, live_site.port)
    tour_sign_in_and_signup(owner, root, ws)
    tour_workspace(owner, ws)
    tour_as_member(member, ws)
    tour_operators_admin(operator, root)

    visited = visitor.visited + owner.visited + member.visited + operator.visited
    assert len(visited) >= 40, visited
    problems = {**visitor.problems, **owner.problems, **member.problems, **operator.problems}
    assert problems == {}, "\n".join(f"{page}:\n  " + "\n  ".join(found) for page, found in problems.items())


def tour_public_site(visitor: Tour, root: str, port: int) -> None:
    # The public site, signed out; the error pages.
    for path in ("/", "/pricing/", "/login/", "/accounts/signup/", "/accounts/password/reset/"):
        visitor.visit(root + path)
    visitor.visit(root + "/no-such-page/", status=404)
    visitor.visit(f"http://nope.localhost:{port}/", status=404)
    visitor.visit(f"http://{SUSPENDED}.localhost:{port}/", status=403)


def tour_sign_in_and_signup(owner: Tour, root: str, ws: str) -> None:
    # Sign-in on the root hands off to the workspace host through redirects (form-action covers them).
    sign_in(owner.page, root + "/login/", OWNER, OWNER_PASSWORD)
    owner.page.wait_for_url(ws + "/")
    owner.check("sign-in on the root, handed off to the workspace")
    owner.visit(root + "/workspaces/")
    # Naming a workspace: the availability check (HTMX) and a suggestion button (static JS fills the field).
    owner.visit(root + "/signup/workspace/")
    owner.page.fill("input[name=subdomain]", "e2e-co")
    owner.page.get_by_text("is taken").wait_for()
    suggestion = owner.page.locator("[data-fill]").first
    suggested = suggestion.inner_text().strip()
    suggestion.click()
    assert owner.page.input_value("input[name=subdomain]") == suggested
    owner.page.get_by_text("is available").wait_for()
    owner.check("signup: workspace name, availability and suggestion")


def tour_workspace(owner: Tour, ws: str) -> None:
    # The workspace: a new project, a task added in place (HTMX) and dragged along the board (static JS).
    for path in ("/", "/projects/", "/projects/new/"):
        owner.visit(ws + path)
    owner.page.get_by_label("Name").fill("Policy tour")
    owner.page.get_by_role("button", name="Create project").click()
    owner.page.wait_for_url(re.compile(r"/projects/\d+/$"))
    board = urlsplit(owner.page.url).path
    owner.page.get_by_label("New task title").fill("Check the policy")
    owner.page.get_by_role("button", name="Add task").click()
    card = owner.page.locator(".task-card", has_text="Check the policy")
    card.wait_for()
    with owner.page.expect_response(lambda r: r.url.endswith("/move/") and r.status == 200):
        card.drag_to(owner.page.locator('[data-status="doing"] [data-cards]'))
    owner.check("board: a task added and dragged")
    owner.visit(ws + board)
    owner.visit(ws + first_href(owner.page, board + r"tasks/\d+/"))
    for sub in ("sharing/", "documents/", "edit/"):
        owner.visit(ws + board + sub)
    # Every settings tab, the second-factor set-up (its QR code is a data: image) and the API docs.
    for path in (
        "/settings/",
        "/settings/members/",
        "/settings/invitations/",
        "/settings/profile/",
        "/settings/api-keys/",
        "/settings/billing/",
        "/settings/audit/",
        "/accounts/2fa/",
        "/accounts/2fa/totp/activate/",
        "/accounts/sessions/",
        "/accounts/email/",
        "/accounts/password/change/",
    ):
        owner.visit(ws + path)
    # A new API key: shown once, selected on focus (static JS, no inline handler).
    owner.visit(ws + "/settings/profile/")
    owner.page.get_by_label("Key name").fill("CSP journey key")
    owner.page.get_by_role("button", name="Create API key").click()
    owner.page.wait_for_load_state("load")  # the page with the key, its deferred scripts run
    owner.page.locator("#new-api-key-secret").focus()
    owner.page.wait_for_function("() => document.activeElement.selectionEnd > 0")
    owner.check("a new API key, selected on focus")
    owner.visit(ws + "/api/docs/")
    owner.page.wait_for_selector("button.authorize")
    owner.check("/api/docs/ with Swagger UI drawn")
    owner.visit(ws + "/projects/999999/", status=404)


def tour_as_member(member: Tour, ws: str) -> None:
    # A member where only admins may go.
    sign_in(member.page, ws + "/login/", MEMBER, PASSWORD)
    member.page.wait_for_url(ws + "/")
    member.check("member sign-in on the workspace host")
    member.visit(ws + "/settings/audit/", status=403)


def tour_operators_admin(operator: Tour, root: str) -> None:
    # The operators' admin: password, second factor, the dashboard and changelists.
    sign_in(operator.page, root + "/admin/", OPERATOR, PASSWORD)
    operator.page.wait_for_url(re.compile(r"/accounts/2fa/authenticate/"))
    operator.check("admin sign-in, second factor")
    operator.page.locator("input[name=code]").fill(totp_code(SECRET))
    operator.page.get_by_role("button", name="Verify and sign in").click()
    operator.page.wait_for_url(root + "/admin/")
    operator.check("/admin/ (dashboard)")
    for path in ("/admin/tenants/tenant/", "/admin/accounts/user/", "/admin/accounts/membership/"):
        operator.visit(root + path)
    operator.visit(root + first_href(operator.page, r"/admin/accounts/membership/\d+/change/"))
