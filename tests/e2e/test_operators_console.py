"""The operators' console (Django admin on the root domain) at a phone's width and a laptop's, in every language:
the header keeps its brand and destinations on one line each, the records' boxes line up, no page runs off the window,
the workspace's page shows each host once and whole buttons, the sidebar keeps "Sign out everywhere" in view under the
impersonation banner, axe-core finds no serious or critical violation, the charts' dates follow the operator's
language, and a dashboard without figures yet renders at once and fills itself in.

The platform is the operators' journey's seed (sixteen workspaces with months of history), plus an operator log, an
impersonation on record and a staff account without a second factor (who is sent to set one up).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from django.utils import formats, translation

from tests.e2e.conftest import LiveSite, shoot
from tests.e2e.test_layout_and_accessibility import AXE, DESKTOP, PHONE, TABLET, axe_serious, too_wide
from tests.helpers import fresh_totp_code, manage_shell

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]

OPERATOR = "console-ops@e2e.test"
MEMBER = "console-member@e2e.test"
STAFF_WITHOUT_MFA = "console-staff@e2e.test"
PASSWORD = "e2e-operator-password"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXR"  # the operator's authenticator app, for this test only
LANGUAGES = {"en": "en-US", "de": "de-DE", "es": "es-ES"}
# A changelist may scroll sideways inside its own region on a phone or a tablet (its columns cannot fit there); on a
# laptop nothing may.
LIST_REGION = "#changelist .results"

SEED = (
    "from tests.e2e.operators_seed import seed; "
    f"seed(operator={OPERATOR!r}, member={MEMBER!r}, password={PASSWORD!r}, secret={SECRET!r})"
)
# What the console's lists and pages lay out besides the seed: an operator log with long reasons, an impersonation on
# record, a staff account without a second factor.
RECORDS = f"""
from allauth.account.models import EmailAddress
from django.conf import settings
from shared_apps.accounts.models import User
from shared_apps.workspaces import impersonation, operators
from shared_apps.workspaces.services import workspace_suspend
from tenants.models import Domain
ops, member = User.objects.get(email={OPERATOR!r}), User.objects.get(email={MEMBER!r})
e2e = Domain.objects.get(domain=f"e2e-co.{{settings.BASE_DOMAIN}}").tenant
why = "Support ticket #4821: the customer asked us to look at their board, which shows the wrong owner after a merge"
operators.user_sign_out_everywhere(user=member, acting_user=ops, reason=why)
impersonation.impersonation_begin(operator=ops, tenant=e2e, member=member, reason=why)
quiet = Domain.objects.get(domain=f"history-wonka.{{settings.BASE_DOMAIN}}").tenant
workspace_suspend(tenant=quiet, acting_user=ops, reason=why)
staff = User.objects.create_user({STAFF_WITHOUT_MFA!r}, {PASSWORD!r}, name="Sam Staff", is_staff=True)
EmailAddress.objects.create(user=staff, email=staff.email, primary=True, verified=True)
print("ids", e2e.pk, member.pk)
"""
# Accounts are deleted from a workspace's schema: their rows there (object permissions) go with them.
CLEAN = f"""
from django.conf import settings
from django_tenants.utils import schema_context
from shared_apps.accounts.models import User
from tenants.models import Domain
from tests.e2e.operators_seed import clean
with schema_context(Domain.objects.get(domain=f"e2e-co.{{settings.BASE_DOMAIN}}").tenant.schema_name):
    User.objects.filter(email={STAFF_WITHOUT_MFA!r}).delete()
clean(operator={OPERATOR!r}, member={MEMBER!r})
"""
FORGET_FIGURES = (
    "from shared_apps.workspaces.models import PlatformDay, WorkspaceDay, WorkspaceMetrics\n"
    "for model in (WorkspaceDay, PlatformDay, WorkspaceMetrics):\n"
    "    model.objects.all().delete()\n"
    "print('forgotten')"
)


@pytest.fixture(scope="module")
def console(live_site: LiveSite) -> Iterator[dict[str, int]]:
    """The seeded platform: {"workspace": the browser tests' workspace's id, "member": its member's id}."""
    try:
        assert "seeded" in manage_shell(SEED)
        found = re.search(r"ids (\d+) (\d+)", manage_shell(RECORDS))
        assert found
        yield {"workspace": int(found.group(1)), "member": int(found.group(2))}
    finally:
        assert "cleaned" in manage_shell(CLEAN)


# The operator's signed-in session, kept for the module's later pages: an authenticator code is good once.
_SIGNED_IN: dict[str, Any] = {}


def _sign_in(page: Any, live_site: LiveSite) -> None:
    root = live_site.url("localhost", "")
    page.goto(root + "/admin/")
    page.wait_for_url(re.compile(r"/login/\?next="))
    page.get_by_label("Email").fill(OPERATOR)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(re.compile(r"/accounts/2fa/authenticate/"))
    page.locator("input[name=code]").fill(fresh_totp_code(SECRET))
    page.get_by_role("button", name="Verify and sign in").click()
    page.wait_for_url(root + "/admin/")


@pytest.fixture
def operator_at(browser: Any, live_site: LiveSite, console: dict[str, int]) -> Iterator[Callable[..., Any]]:
    """`operator_at(viewport, language="en")`: a page of a browser context signed in as the operator."""
    contexts: list[Any] = []

    def make(viewport: dict[str, int] = DESKTOP, language: str = "en") -> Any:
        context = browser.new_context(
            viewport=viewport,
            locale=LANGUAGES[language],
            has_touch=viewport["width"] < 600,
            storage_state=_SIGNED_IN.get("state"),
        )
        contexts.append(context)
        page = context.new_page()
        if "state" not in _SIGNED_IN:
            _sign_in(page, live_site)
            _SIGNED_IN["state"] = context.storage_state()
        return page

    yield make
    for context in contexts:
        context.close()


def admin_pages(console: dict[str, int]) -> dict[str, str]:
    return {
        "dashboard": "/admin/",
        "workspaces": "/admin/tenants/tenant/",
        "a workspace": f"/admin/tenants/tenant/{console['workspace']}/change/",
        "people": "/admin/accounts/user/",
        "operator log": "/admin/workspaces/operatorlogentry/",
        "impersonations": "/admin/workspaces/impersonationsession/",
    }


LINES = """(el) => {
    // How many lines the element's text takes (the line boxes of its text, by their tops; icons aside).
    const tops = new Set(), walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const range = document.createRange();
        range.selectNodeContents(node);
        [...range.getClientRects()].filter(r => r.width > 0).forEach(r => tops.add(Math.round(r.top)));
    }
    return tops.size;
}"""


def test_the_header_keeps_the_brand_and_each_destination_on_one_line(
    operator_at: Callable[..., Any], live_site: LiveSite
) -> None:
    wrapped: dict[str, list[str]] = {}
    for language in LANGUAGES:
        page = operator_at(DESKTOP, language)
        page.goto(live_site.url("localhost", "/admin/"))
        assert page.evaluate("document.documentElement.lang") == language
        brand = page.locator("#site-name a")
        found = [] if brand.evaluate(LINES) == 1 else [f"brand {brand.inner_text()!r}"]
        tops = set()
        for link in page.locator(".ops-nav a").all():
            if link.evaluate(LINES) != 1:
                found.append(f"{link.inner_text()!r} wraps")
            box = link.bounding_box()
            assert box is not None
            tops.add(round(box["y"]))
        if len(tops) != 1:
            found.append(f"the destinations take {len(tops)} rows")
        if found:
            wrapped[language] = found
        if language == "de":
            shoot(page, "60-operators-header-de")
    assert not wrapped, wrapped


def test_the_records_boxes_line_up(operator_at: Callable[..., Any], live_site: LiveSite) -> None:
    page = operator_at(DESKTOP)
    page.goto(live_site.url("localhost", "/admin/"))
    ragged = {}
    for viewport in (DESKTOP, TABLET, PHONE):
        page.set_viewport_size(viewport)
        boxes = page.locator(".ops-apps .module").evaluate_all(
            "modules => modules.map(m => Math.round(m.getBoundingClientRect().width))"
        )
        assert len(boxes) >= 5, boxes
        if max(boxes) - min(boxes) > 1:
            ragged[viewport["width"]] = boxes
    captions = page.locator(".ops-apps caption").all_inner_texts()
    shoot(page, "61-operators-records-phone")

    assert not ragged, ragged
    assert len(captions) == len(set(captions)), captions  # two boxes with one name ("Accounts") read as one


def test_no_admin_page_runs_off_the_window(
    operator_at: Callable[..., Any], live_site: LiveSite, console: dict[str, int]
) -> None:
    page = operator_at(DESKTOP)
    pages = admin_pages(console) | {"an account's form": f"/admin/accounts/user/{console['member']}/change/"}
    wide = {
        name: found
        for name, path in pages.items()
        if (found := too_wide(page, live_site.url("localhost", path), narrow_may_scroll=LIST_REGION))
    }
    page.set_viewport_size(PHONE)
    page.goto(live_site.url("localhost", "/admin/"))
    shoot(page, "62-operators-dashboard-phone")

    assert not wide, json.dumps(wide, indent=1)


def test_the_workspace_page_shows_each_host_once_and_whole_buttons(
    operator_at: Callable[..., Any], live_site: LiveSite, console: dict[str, int]
) -> None:
    page = operator_at(DESKTOP)
    page.goto(live_site.url("localhost", f"/admin/tenants/tenant/{console['workspace']}/change/"))
    host = f"e2e-co.{live_site.base_domain}"

    shown = [e for e in page.locator(".inline-group").get_by_text(host, exact=True).all() if e.is_visible()]
    close = page.get_by_role("link", name="Close", exact=True)
    text_inside = close.evaluate(
        """(el) => {
            const range = document.createRange();
            range.selectNodeContents(el);
            const box = el.getBoundingClientRect(), text = range.getBoundingClientRect();
            return text.top >= box.top - 0.5 && text.bottom <= box.bottom + 0.5 && el.scrollHeight <= el.clientHeight;
        }"""
    )
    shoot(page, "63-operators-workspace")

    assert len(shown) == 1, [e.evaluate("e => e.outerHTML") for e in shown]
    assert text_inside, "the Close button's text runs out of it"


def test_under_the_impersonation_banner_the_sidebar_keeps_sign_out_everywhere_in_view(
    operator_at: Callable[..., Any], live_site: LiveSite, console: dict[str, int]
) -> None:
    page = operator_at({"width": 1280, "height": 720})
    page.goto(live_site.url("localhost", f"/admin/tenants/tenant/{console['workspace']}/change/"))
    page.locator("tr", has_text=MEMBER).get_by_role("link", name="Sign in as…").click()
    page.wait_for_url(re.compile(r"/accounts/reauthenticate/"))
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile(r"/impersonate/\d+/"))
    page.get_by_label("Reason").fill("Checking the sidebar under the banner")
    page.get_by_role("button", name=f"Sign in as {MEMBER}").click()
    page.wait_for_url(live_site.url("e2e-co.localhost", "/"))
    banner = page.get_by_role("region", name="Atrium staff view")
    sign_out = page.locator("#sidebar").get_by_role("link", name="Sign out everywhere…")
    try:
        cut = {}
        for viewport in ({"width": 1280, "height": 720}, {"width": 1024, "height": 640}, {"width": 900, "height": 600}):
            page.set_viewport_size(viewport)
            for scrolled in (0, 400):
                page.evaluate("y => window.scrollTo(0, y)", scrolled)
                box, top = sign_out.bounding_box(), banner.bounding_box()
                assert box is not None
                assert top is not None
                if box["y"] + box["height"] > viewport["height"] or box["y"] < top["y"] + top["height"]:
                    cut[f"{viewport['width']}x{viewport['height']}, scrolled {scrolled}"] = (box, top)
        shoot(page, "64-impersonated-sidebar")
    finally:
        banner.get_by_role("button", name="End impersonation").click()
        page.wait_for_url(re.compile(r"/admin/tenants/tenant/\d+/change/"))

    assert not cut, cut


def test_axe_finds_no_serious_violation_in_the_console(
    operator_at: Callable[..., Any], browser: Any, live_site: LiveSite, console: dict[str, int]
) -> None:
    assert AXE.exists(), f"{AXE} is missing: run `make e2e-deps` (npm ci in tests/e2e)"
    page = operator_at(DESKTOP)
    pages = admin_pages(console) | {
        "an account's form": f"/admin/accounts/user/{console['member']}/change/",
        "a membership": "/admin/accounts/membership/",
    }
    found: dict[str, Any] = {}
    for name, path in pages.items():
        page.goto(live_site.url("localhost", path))
        if violations := axe_serious(page):
            found[name] = violations
    # A staff account without a second factor: the admin sends it to set one up.
    staff = browser.new_context(viewport=DESKTOP).new_page()
    staff.goto(live_site.url("localhost", "/login/"))
    staff.get_by_label("Email").fill(STAFF_WITHOUT_MFA)
    staff.get_by_label("Password").fill(PASSWORD)
    staff.get_by_role("button", name="Sign in", exact=True).click()
    staff.wait_for_load_state()
    for name, path, status in (
        ("two-factor required", "/admin/", 403),
        ("two-factor set-up", "/accounts/2fa/totp/activate/", 200),
    ):
        response = staff.goto(live_site.url("localhost", path))
        assert response is not None
        assert response.status == status, (path, response.status)
        if violations := axe_serious(staff):
            found[name] = violations
    staff.context.close()

    assert len(pages) == 8
    assert not found, json.dumps(found, indent=1)


def test_the_charts_dates_follow_the_operators_language(operator_at: Callable[..., Any], live_site: LiveSite) -> None:
    today = datetime.now(UTC).date()
    shown, expected = {}, {}
    for language in LANGUAGES:
        page = operator_at(DESKTOP, language)
        page.goto(live_site.url("localhost", "/admin/?range=30"))
        chart = page.locator(".ops-chart").first
        ticks = chart.locator("svg text.chart__tick").all_text_contents()
        days = chart.locator(".ops-chart__data tbody th").all_text_contents()
        with translation.override(language):
            expected[language] = formats.date_format(today, "MONTH_DAY_FORMAT")
        shown[language] = (days[-1] if days else "", ticks[-1] if ticks else "")

    assert shown == {language: (day, day) for language, day in expected.items()}, (shown, expected)
    assert len(set(expected.values())) == len(LANGUAGES)  # the three really differ


def test_a_dashboard_without_figures_renders_at_once_and_fills_itself_in(
    operator_at: Callable[..., Any], live_site: LiveSite
) -> None:
    # given: a platform whose figures were never gathered (a fresh `make run`)
    assert "forgotten" in manage_shell(FORGET_FIGURES)
    page = operator_at(DESKTOP)
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url) if frame == page.main_frame else None)

    # when: the dashboard is opened
    response = page.goto(live_site.url("localhost", "/admin/"))
    assert response is not None
    first_view = response.text()

    # then: it answered at once, saying the figures are being gathered, and picks them up when they are ready
    assert "Gathering figures" in first_view, first_view[:2000]
    assert "Workspace figures as of" not in first_view
    page.locator("#ops-figures").get_by_text("Workspace figures as of").wait_for(timeout=60_000)
    assert len(navigations) == 1, navigations  # filled in place, not reloaded
    assert "Active workspaces, 7 days" in page.locator("#ops-figures").inner_text()
    shoot(page, "65-operators-dashboard-gathered")
