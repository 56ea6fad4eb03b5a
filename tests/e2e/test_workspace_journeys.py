"""The journeys of issue 16 that this file owns, each at desktop (1280x800) and phone (390x844) size:

- an owner runs the workspace from its settings: rename, a taken subdomain (suggestions) then a move, a custom
  domain with its DNS instructions, the sole owner told they can't leave, deletion with its date on the 410 page;
- sign-up's rough edges: no console errors, a pattern Chrome accepts (the client-side check works), the subdomain
  suggested from the name, the code page's countdown and "Wrong email? Change it", the branded 429;
- signed in once: "Continue with your Atrium account" → "Continue as <email>", "sign out everywhere", a non-member
  told plainly, the "Switch workspace" menu;
- dead ends: the suspended page with the operator's reason and support.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from tests.e2e.conftest import LiveSite, _manage, shoot
from tests.helpers import subprocess_env

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]

VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
PASSWORD = "vellum-orchid-quartz-58"  # shares nothing with the generated emails (the similarity check)


def manage(live_site: LiveSite, *args: str) -> str:
    env = subprocess_env(
        BASE_DOMAIN=live_site.base_domain,
        SITE_PORT=str(live_site.port),
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        EMAIL_FILE_PATH=str(live_site.mail_dir),
    )
    return _manage(*args, env=env)


_CREATED: list[str] = []  # slugs to delete after each test: the server's database outlives the test's transaction


def workspace(live_site: LiveSite, prefix: str, owner: str | None = None) -> tuple[str, str]:
    """A fresh workspace (slug, owner email) made by the `tenant` command, as an operator would."""
    slug = f"{prefix}-{uuid.uuid4().hex[:6]}"
    _CREATED.append(slug)
    email = owner or f"owner-{slug}@e2e.test"
    manage(
        live_site, "tenant", "create", "--slug", slug, "--name", f"Team {slug}", "--owner-email", email,
        "--password", PASSWORD,
    )  # fmt: skip
    return slug, email


def sign_in(page: Any, live_site: LiveSite, host: str, email: str) -> None:
    page.goto(live_site.url(host, "/login/"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(re.compile(re.escape(host) + r":\d+/$"))


@pytest.fixture(params=list(VIEWPORTS))
def viewport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(autouse=True)
def _delete_created_workspaces(live_site: LiveSite) -> Any:
    yield
    while _CREATED:
        manage(live_site, "tenant", "delete", _CREATED.pop(), "--yes")


@pytest.fixture
def sized(browser: Any, viewport: str) -> Any:
    context = browser.new_context(viewport=VIEWPORTS[viewport])
    errors: list[str] = []
    page = context.new_page()
    # Script errors and failed sub-resources count; a page answered on purpose with 400/403/410 does not (Chromium
    # logs its status as "Failed to load resource" too, so those lines are judged by the response listener instead).
    page.on(
        "console",
        lambda m: (
            errors.append(m.text) if m.type == "error" and not m.text.startswith("Failed to load resource") else None
        ),
    )
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "response",
        lambda r: (
            errors.append(f"{r.status} {r.url}") if r.status >= 400 and r.request.resource_type != "document" else None
        ),
    )
    page.console_errors = errors
    yield page
    context.close()


def test_an_owner_renames_moves_adds_a_domain_and_deletes_the_workspace(
    sized: Any, live_site: LiveSite, viewport: str
) -> None:
    page = sized
    slug, email = workspace(live_site, "own")
    taken, _ = workspace(live_site, "taken")
    host = f"{slug}.localhost"
    sign_in(page, live_site, host, email)

    # rename
    page.goto(live_site.url(host, "/settings/"))
    page.get_by_label("Workspace name").fill("Rocket Club")
    page.get_by_role("button", name="Rename workspace").click()
    page.get_by_text("The workspace is now called Rocket Club.").wait_for()
    shoot(page, f"40-owner-settings-{viewport}")

    # the sole owner learns they can't leave before any confirmation
    page.goto(live_site.url(host, "/settings/leave/"))
    assert "only owner" in page.locator("main").inner_text()
    assert page.get_by_role("button", name=re.compile("^Leave")).count() == 0

    # custom domain: added, with the record to create
    page.goto(live_site.url(host, "/settings/domains/"))
    page.get_by_role("textbox", name="Domain").fill("projects.rocket-club.example")
    page.get_by_role("button", name="Add domain").click()
    page.get_by_text("CNAME", exact=True).wait_for()
    assert "projects.rocket-club.example" in page.locator("main").inner_text()
    shoot(page, f"41-owner-domains-{viewport}")
    page.get_by_role("button", name="Remove projects.rocket-club.example").click()
    page.get_by_text("no longer leads to this workspace").wait_for()

    # a taken subdomain: refused with suggestions, the focus on the field; then a free one
    page.goto(live_site.url(host, "/settings/"))
    page.get_by_label("Subdomain").fill(taken)
    page.get_by_role("button", name="Move workspace").click()
    page.get_by_text("is taken").first.wait_for()
    assert page.evaluate("document.activeElement.id") == "id_subdomain"
    page.get_by_role("button", name=f"{taken}-team").click()
    assert page.get_by_label("Subdomain").input_value() == f"{taken}-team"
    moved = f"{slug}-new"
    page.get_by_label("Subdomain").fill(moved)
    page.get_by_role("button", name="Move workspace").click()
    # moving signs everyone out: asked once more, with both addresses
    page.get_by_role("button", name=f"Move to {moved}.localhost and sign everyone out").click()
    page.get_by_text(f"Now at {moved}.localhost").wait_for()
    _CREATED[_CREATED.index(slug)] = moved
    shoot(page, f"42-owner-moved-{viewport}")
    page.get_by_role("link", name=f"Continue at {moved}.localhost").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(live_site.url(f"{moved}.localhost", "/settings/"))
    # the old address redirects
    page.goto(live_site.url(host, "/settings/"))
    assert f"{moved}.localhost" in page.url

    # delete: type the subdomain, and the workspace answers 410 with the date
    page.goto(live_site.url(f"{moved}.localhost", "/settings/delete/"))
    page.get_by_label(re.compile("to confirm")).fill("nope")
    page.get_by_role("button", name="Delete Rocket Club").click()
    page.get_by_text(f"Type {moved} exactly").wait_for()
    page.get_by_label(re.compile("to confirm")).fill(moved)
    page.get_by_role("button", name="Delete Rocket Club").click()
    page.get_by_role("heading", name="This workspace is scheduled for deletion").wait_for()
    text = page.locator("main").inner_text()
    assert re.search(r"permanently deleted on \w+ \d{1,2}, 20\d\d", text), text  # English's date format
    assert page.get_by_role("button", name="Restore Rocket Club").is_visible()
    shoot(page, f"43-owner-deleted-{viewport}")
    assert not page.console_errors, page.console_errors


def test_sign_up_has_no_rough_edges(sized: Any, live_site: LiveSite, viewport: str) -> None:
    page = sized
    email = f"founder-{uuid.uuid4().hex[:6]}@e2e.test"
    page.goto(live_site.url("localhost", "/accounts/signup/"))
    page.fill("input[name=email]", email)
    page.fill("input[name=password1]", "short")
    page.press("input[name=password1]", "Enter")
    page.get_by_text("too short").first.wait_for()
    assert page.locator("main").inner_text().count("too short") == 1
    page.fill("input[name=password1]", "a-strong-passphrase-42")
    page.press("input[name=password1]", "Enter")
    page.wait_for_url(re.compile(r"/accounts/confirm-email/"))

    # the code page: "Resend code" waits for the server's cooldown, visibly; the address can be changed
    resend = page.locator("button[data-countdown]")
    assert resend.is_disabled()
    assert re.search(r"Resend code in [0-9]:[0-5][0-9]", resend.inner_text())
    assert page.get_by_text("Wrong email? Change it").is_visible()
    shoot(page, f"44-signup-code-{viewport}")

    # cancel and sign up again at once: the branded 429, with when and a way forward
    other_context = page.context.browser.new_context(viewport=VIEWPORTS[viewport])
    other = other_context.new_page()
    other.goto(live_site.url("localhost", "/accounts/signup/"))
    other.fill("input[name=email]", email)
    other.fill("input[name=password1]", "a-strong-passphrase-42")
    other.press("input[name=password1]", "Enter")
    other.get_by_role("heading", name="Too many attempts, too quickly").wait_for()
    assert re.search(r"try again in [1-3] minutes", other.locator("main").inner_text())
    assert other.get_by_role("link", name="Sign in").first.is_visible()
    shoot(other, f"45-signup-429-{viewport}")
    other_context.close()

    code = re.search(r"^\s*([A-Z0-9]{4}-?[A-Z0-9]{4})\s*$", live_site.wait_for_mail(email), re.MULTILINE)
    assert code
    page.fill("input[name=code]", code.group(1))
    page.press("input[name=code]", "Enter")
    page.wait_for_url(re.compile(r"/signup/workspace/"))

    # the subdomain follows the name until edited; Chrome accepts the pattern and checks it
    page.get_by_label("Organization name").fill("Café Überfluß & Co")
    assert page.get_by_label("Subdomain").input_value() == "cafe-uberflu-co"
    page.get_by_label("Subdomain").fill("Bad_Slug")
    assert page.evaluate("document.getElementById('id_subdomain').validity.patternMismatch") is True
    page.get_by_label("Subdomain").fill("good-slug")
    assert page.evaluate("document.getElementById('id_subdomain').validity.valid") is True
    page.get_by_label("Organization name").fill("Something else")
    assert page.get_by_label("Subdomain").input_value() == "good-slug"  # edited: left alone
    # taken, refused by the server: suggestions stay, whole names side by side, and the focus is on the field
    page.get_by_label("Subdomain").fill("e2e-co")
    page.get_by_role("button", name="Create workspace").click()
    page.get_by_text("“e2e-co” is taken").first.wait_for()
    assert page.evaluate("document.activeElement.id") == "id_subdomain"
    suggestion = page.get_by_role("button", name="e2e-co-team")
    box = suggestion.bounding_box()
    assert box is not None
    assert box["height"] < 40  # one line: the name does not wrap
    shoot(page, f"46-signup-taken-{viewport}")
    assert not [e for e in page.console_errors if "pattern" in e.lower() or "regular expression" in e.lower()]
    assert not page.console_errors, page.console_errors


def test_signed_in_once_continue_as_switch_and_sign_out_everywhere(
    sized: Any, live_site: LiveSite, viewport: str
) -> None:
    page = sized
    slug, email = workspace(live_site, "cont")
    second, _ = workspace(live_site, "cont2", owner=email)
    host = f"{slug}.localhost"
    # signed in on the root …
    page.goto(live_site.url("localhost", "/accounts/login/"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(re.compile(r"/workspaces/"))
    # … a workspace's bookmark: continue without typing the password again
    page.goto(live_site.url(host, "/login/"))
    page.get_by_role("button", name="Continue with your Atrium account").click()
    page.get_by_role("button", name=f"Continue as {email}").wait_for()
    shoot(page, f"47-continue-as-{viewport}")
    page.get_by_role("button", name=f"Continue as {email}").click()
    page.wait_for_url(live_site.url(host, "/"))

    # the switch menu lists both workspaces, without leaving the app (on a phone it is in the drawer)
    if viewport == "phone":
        page.get_by_role("button", name="Menu").click()
    page.locator("summary", has_text="Switch workspace").click()
    page.get_by_role("link", name=re.compile(f"Team {second}")).wait_for()
    assert host in page.url
    shoot(page, f"48-switch-menu-{viewport}")

    # sign out offers "everywhere"
    page.goto(live_site.url(host, "/logout/"))
    page.get_by_role("button", name="Sign out everywhere").click()
    page.goto(live_site.url("localhost", "/workspaces/"))
    assert "/login/" in page.url  # the root session ended too

    assert not page.console_errors, page.console_errors

    # a non-member who signs in on a workspace is told plainly, with links to their own (a 403 page)
    stranger_ws, stranger = workspace(live_site, "strange")
    page.goto(live_site.url(host, "/login/"))
    page.get_by_label("Email").fill(stranger)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_role("heading", name="You don't have access to this workspace").wait_for()
    text = page.locator("body").inner_text()
    assert "Successfully signed in" not in text
    assert "not a member of this workspace" in text
    assert page.get_by_role("link", name=f"Team {stranger_ws}").is_visible()
    shoot(page, f"49-not-a-member-{viewport}")


def test_the_suspended_page_says_why_and_links_support(sized: Any, live_site: LiveSite, viewport: str) -> None:
    page = sized
    slug, email = workspace(live_site, "susp")
    sign_in(page, live_site, f"{slug}.localhost", email)
    manage(live_site, "tenant", "suspend", slug, "--reason", "Reported for spam; write to us to sort it out")

    heading = page.get_by_role("heading", name="This workspace is suspended")
    for _ in range(20):  # the server's route cache hears of the change within moments
        page.goto(live_site.url(f"{slug}.localhost", "/"))
        if heading.count():
            break
        page.wait_for_timeout(250)
    heading.wait_for()
    assert "Reported for spam; write to us to sort it out" in page.locator("main").inner_text()
    assert page.get_by_role("link", name=re.compile("Contact support")).get_attribute("href").startswith("mailto:")
    shoot(page, f"50-suspended-{viewport}")
