"""Every main page at a phone's width and a laptop's: nothing runs off the side, the sidebar becomes a drawer, wide
tables become stacked rows, addresses wrap between their parts, toasts keep clear of what they report on; and
axe-core finds no serious or critical accessibility violation on any of them, the API docs page included.

The pages are visited as the workspace's owner (who sees every settings tab), in a workspace with real content
(tests/e2e/layout_seed.py): labelled tasks with attachments and comments, notifications, activity, many members with
long addresses, invitations, an API key, a webhook endpoint and a long custom domain.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from tests.e2e.conftest import LiveSite, shoot
from tests.e2e.layout_seed import LONG_INVITED
from tests.helpers import manage_shell

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]

AXE = Path(settings.BASE_DIR) / "tests" / "e2e" / "node_modules" / "axe-core" / "axe.min.js"
README_SHOTS = Path(settings.BASE_DIR) / "static" / "img" / "readme"
OWNER = ("owner@e2e.test", "e2e-owner-password")
PHONE = {"width": 390, "height": 844}
SMALL_PHONE = {"width": 360, "height": 740}
TABLET = {"width": 768, "height": 1024}
DESKTOP = {"width": 1280, "height": 800}
WIDTHS = [SMALL_PHONE, PHONE, TABLET, DESKTOP]

ROOT_PAGES = ["/", "/signup/", "/login/", "/pricing/"]
# The audit log's entries about long addresses (tests/e2e/layout_seed.py), whatever the sign-ins since put above them.
AUDIT_LONG_ADDRESSES = "/settings/audit/?actor=example-corporation"

SEED = "from tests.e2e.layout_seed import seed; seed()"

INVITE = """
from shared_apps.accounts import services
from shared_apps.accounts.models import Role, User
from tenants.models import Domain
tenant = Domain.objects.get(domain="e2e-co.localhost").tenant
owner = User.objects.get(email="owner@e2e.test")
services.invitations_create(tenant=tenant, emails=[{email!r}], role=Role.MEMBER, acting_user=owner)
"""

# An invitation's landing page on the root: a fresh link for a long address.
LANDING = """
from django.db import transaction
from shared_apps.accounts import services
from shared_apps.accounts.models import Invitation, Role, User
from shared_apps.accounts.services.invitations import invitation_token_issue
from tenants.models import Domain
tenant = Domain.objects.get(domain="e2e-co.localhost").tenant
owner = User.objects.get(email="owner@e2e.test")
email = "maximilian.featherstonehaugh-landing@engineering.example-corporation.com"
if not Invitation.objects.filter(tenant=tenant, email=email).exists():
    services.invitations_create(tenant=tenant, emails=[email], role=Role.MEMBER, acting_user=owner)
with transaction.atomic():
    issued = invitation_token_issue(invitation_id=Invitation.objects.get(tenant=tenant, email=email).pk)
print("token", issued[1])
"""


@pytest.fixture(scope="module")
def ids(live_site: LiveSite) -> dict[str, int]:
    out = manage_shell(SEED)
    found = re.search(r"^ids (\{.*\})$", out, re.MULTILINE)
    assert found, out
    return {key: int(value) for key, value in json.loads(found.group(1)).items()}


def workspace_pages(ids: dict[str, int]) -> list[str]:
    project, task, logo, endpoint = ids["project"], ids["task"], ids["logo"], ids["endpoint"]
    return [
        "/",
        "/projects/",
        f"/projects/{project}/",
        f"/projects/{project}/tasks/{task}/",
        f"/projects/{project}/tasks/{logo}/",
        f"/projects/{project}/sharing/",
        f"/projects/{project}/documents/",
        f"/projects/{project}/edit/",
        "/settings/",
        "/settings/members/",
        "/settings/invitations/",
        "/settings/billing/",
        "/settings/audit/",
        AUDIT_LONG_ADDRESSES,
        "/settings/api-keys/",
        "/settings/labels/",
        "/settings/sso/",
        "/settings/profile/",
        "/settings/domains/",
        "/settings/webhooks/",
        f"/settings/webhooks/{endpoint}/",
        "/accounts/sessions/",
        "/activity/",
        f"/activity/projects/{project}/",
        "/notifications/",
        "/notifications/preferences/",
    ]


def sign_in(page: Any, live_site: LiveSite, email: str = OWNER[0], password: str = OWNER[1]) -> None:
    page.goto(live_site.url("e2e-co.localhost", "/login/"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(live_site.url("e2e-co.localhost", "/"))


@pytest.fixture
def context_at(browser: Any) -> Iterator[Any]:
    contexts: list[Any] = []

    def make(viewport: dict[str, int]) -> Any:
        context = browser.new_context(viewport=viewport, has_touch=viewport["width"] < 600)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def overflow(page: Any, may_scroll: str = "") -> list[str]:
    """What runs off the window, and every region that has to scroll sideways to show its content (a table wider
    than its card hides its last columns there): empty when the page fits. The tab strip may scroll on a phone, and
    code blocks may scroll, by design; so may the regions `may_scroll` selects (a CSS selector list)."""
    return list(
        page.evaluate(
            """(mayScroll) => {
            const width = window.innerWidth, found = [];
            const name = e => [e.tagName, e.getAttribute('class') || '', e.id || ''].join(' ').trim();
            if (document.documentElement.scrollWidth > width) {
                found.push(`document ${document.documentElement.scrollWidth} > ${width}`);
                [...document.querySelectorAll('body *')]
                    .filter(e => e.getBoundingClientRect().right > width + 1).slice(0, 3)
                    .forEach(e => found.push(`${name(e)} ends at ${Math.round(e.getBoundingClientRect().right)}`));
            }
            const scrolls = '.tabs, .code-block, pre, .board, .aa-subnav' + (mayScroll ? ', ' + mayScroll : '');
            for (const e of document.querySelectorAll('main *, .main *, .public-main *')) {
                if (e.matches('input, textarea, select')) continue;  // a long value scrolls inside its field
                if (e.closest(scrolls)) continue;
                const style = getComputedStyle(e);
                if (style.overflowX === 'visible' || e.clientWidth <= 1 || style.textOverflow === 'ellipsis') continue;
                const hidden = e.scrollWidth - e.clientWidth;
                if (hidden > 1) found.push(`${name(e)} hides ${hidden}px`);
            }
            for (const input of document.querySelectorAll('.card input, .card select, .card textarea')) {
                const box = input.getBoundingClientRect(), card = input.closest('.card').getBoundingClientRect();
                if (box.width && box.right > card.right - 1) found.push(`${name(input)} passes its card's edge`);
            }
            return found;
        }""",
            may_scroll,
        )
    )


def too_wide(page: Any, url: str, *, narrow_may_scroll: str = "") -> dict[str, list[str]]:
    """What overflows on the page at `url` at each width (one load, the window resized): {} when it fits. Below the
    laptop's width, the regions `narrow_may_scroll` selects may scroll sideways inside themselves (a wide list's own
    scrolling region); at the laptop's width nothing may."""
    response = page.goto(url)
    assert response is not None
    assert response.status == 200, f"{url}: {response.status}"
    text = page.locator("body").inner_text()
    assert "{#" not in text, f"{url} shows a template comment"
    assert "{%" not in text, f"{url} shows a template tag"
    measured = {}
    for viewport in WIDTHS:
        page.set_viewport_size(viewport)
        if found := overflow(page, narrow_may_scroll if viewport["width"] < DESKTOP["width"] else ""):
            measured[str(viewport["width"])] = found
    return measured


def test_every_page_fits_the_window_at_every_width(context_at: Any, live_site: LiveSite, ids: dict[str, int]) -> None:
    page = context_at(DESKTOP)
    wide = {path: too_wide(page, live_site.url("localhost", path)) for path in ROOT_PAGES}
    token = re.search(r"token (\S+)", manage_shell(LANDING))
    assert token, "no invitation token"
    wide["invitation landing"] = too_wide(page, live_site.url("localhost", f"/invitations/{token.group(1)}/"))
    sign_in(page, live_site)
    wide |= {
        "workspace " + path: too_wide(page, live_site.url("e2e-co.localhost", path)) for path in workspace_pages(ids)
    }

    assert len(wide) == len(ROOT_PAGES) + 1 + len(workspace_pages(ids))
    assert not {path: m for path, m in wide.items() if m}, json.dumps({p: m for p, m in wide.items() if m}, indent=1)


# Where each table cell's text breaks onto a new line in the middle of a word (between two letters or digits); a
# <br> or a block inside the cell starts a line by design, and a break after a space, "@", "." or "-" is a fine one.
MID_WORD_BREAKS = """(cells) => {
    const found = [], range = document.createRange(), word = /[\\p{L}\\p{N}]/u;
    for (const cell of cells) {
        const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT | NodeFilter.SHOW_ELEMENT);
        let before = null;
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            if (node.nodeType === Node.ELEMENT_NODE) {
                if (node.tagName === 'BR' || !getComputedStyle(node).display.startsWith('inline')) before = null;
                continue;
            }
            for (let i = 0; i < node.length; i++) {
                const ch = node.data[i];
                if (/\\s/.test(ch)) { before = before && {ch, top: before.top}; continue; }
                range.setStart(node, i);
                range.setEnd(node, i + 1);
                const box = range.getClientRects()[0];
                if (!box || !box.width) continue;
                if (before && box.top > before.top + 2 && word.test(before.ch) && word.test(ch)) {
                    found.push(`"${cell.textContent.trim()}" between "${before.ch}" and "${ch}"`);
                }
                before = {ch, top: box.top};
            }
        }
    }
    return found;
}"""


def test_long_addresses_wrap_between_their_parts_never_inside_a_word(
    context_at: Any, live_site: LiveSite, ids: dict[str, int]
) -> None:
    page = context_at(DESKTOP)
    sign_in(page, live_site)
    pages = [
        "/settings/audit/",
        AUDIT_LONG_ADDRESSES,
        "/settings/members/",
        "/settings/invitations/",
        "/settings/api-keys/",
        f"/projects/{ids['project']}/sharing/",
        f"/projects/{ids['project']}/tasks/{ids['task']}/",
    ]
    broken: dict[str, list[str]] = {}
    for path in pages:
        page.goto(live_site.url("e2e-co.localhost", path))
        if path == AUDIT_LONG_ADDRESSES:  # given: a long address inviting another
            assert page.locator("main td", has_text=LONG_INVITED).count() == 1
        for viewport in WIDTHS:
            page.set_viewport_size(viewport)
            if found := page.locator("main td").evaluate_all(MID_WORD_BREAKS):
                broken[f"{path} at {viewport['width']}"] = found

    assert not broken, json.dumps(broken, indent=1)


def test_on_a_phone_the_sidebar_is_a_drawer(context_at: Any, live_site: LiveSite, ids: dict[str, int]) -> None:
    page = context_at(PHONE)
    sign_in(page, live_site)
    page.goto(live_site.url("e2e-co.localhost", f"/projects/{ids['project']}/"))
    toggle = page.get_by_role("button", name="Menu", exact=True)
    nav = page.locator("#sidebar")

    # given: closed, the navigation is out of sight and out of the tab order
    assert toggle.get_attribute("aria-expanded") == "false"
    assert not nav.get_by_role("link", name="Settings").is_visible()
    shoot(page, "phone-board")
    page.screenshot(path=str(README_SHOTS / "phone-board.png"))

    # when: opened, focus moves into it and every destination is there
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true"
    page.wait_for_function("() => document.getElementById('sidebar').contains(document.activeElement)")
    for name in ("Projects", "Members", "Settings", "Billing"):
        assert nav.get_by_role("link", name=name).is_visible(), name
    shoot(page, "phone-drawer")
    page.screenshot(path=str(README_SHOTS / "phone-drawer.png"))

    # then: Escape closes it and gives focus back to the button
    page.keyboard.press("Escape")
    assert toggle.get_attribute("aria-expanded") == "false"
    assert page.evaluate("() => document.activeElement.getAttribute('aria-controls')") == "sidebar"
    nav.get_by_role("link", name="Settings").wait_for(state="hidden")

    # and: on a laptop there is no button, the sidebar is simply there
    wide = context_at(DESKTOP)
    sign_in(wide, live_site)
    assert not wide.get_by_role("button", name="Menu", exact=True).is_visible()
    assert not wide.get_by_role("button", name="Close menu").is_visible()  # the drawer's close button, dead here
    assert wide.locator("#sidebar").get_by_role("link", name="Settings").is_visible()


def test_on_a_phone_the_settings_tabs_show_the_current_one(context_at: Any, live_site: LiveSite) -> None:
    page = context_at(PHONE)
    sign_in(page, live_site)
    page.goto(live_site.url("e2e-co.localhost", "/settings/profile/"))  # the last tab, at the strip's far end

    strip = page.locator(".settings-tabs").bounding_box()
    current = page.locator(".settings-tabs [aria-current=page]").bounding_box()
    assert strip is not None
    assert current is not None
    assert current["x"] >= strip["x"] - 1
    assert current["x"] + current["width"] <= strip["x"] + strip["width"] + 1, (strip, current)


def test_on_a_phone_tables_become_labelled_rows(context_at: Any, live_site: LiveSite, ids: dict[str, int]) -> None:
    page = context_at(PHONE)
    sign_in(page, live_site)
    page.goto(live_site.url("e2e-co.localhost", "/settings/members/"))

    # Each cell stands on its own line under its column's name; the header row is hidden.
    header = page.locator(".members-table thead").bounding_box()
    assert header is not None
    assert header["height"] <= 1
    # each labelled cell is its own line, the value beside its label
    role = page.locator(".members-table td[data-label='Role']").first
    assert role.evaluate("c => getComputedStyle(c).display") == "block"
    assert role.evaluate("c => parseFloat(getComputedStyle(c).paddingLeft)") > 40
    labels = page.locator(".members-table td[data-label]").evaluate_all(
        "cells => cells.map(c => getComputedStyle(c, '::before').content)"
    )
    assert '"Role"' in labels, labels
    shoot(page, "phone-members")
    page.screenshot(path=str(README_SHOTS / "phone-members.png"))


def axe_serious(page: Any) -> list[dict[str, Any]]:
    # Evaluated through the DevTools protocol, not added as an inline <script> (which the Content Security Policy
    # refuses, as it should): the page's own policy stays enforced while axe reads it.
    page.evaluate(AXE.read_text())
    # Colours are judged once entrance animations (a toast fading in) have finished, as a reader sees them.
    page.evaluate("() => Promise.all(document.getAnimations().map(a => a.finished))")
    # Without axe's preload of the CSS object model: it copies @import-ed sheets (Django admin's forms.css imports
    # widgets.css) into inline <style> elements, which the policy refuses; only css-orientation-lock reads them.
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ['violations'], preload: false});
            return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                .map(v => ({id: v.id, impact: v.impact, help: v.help,
                            nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
        }"""
    )
    return list(result)


CODE_CONTRAST = r"""() => {
    const rgb = (text) => text.match(/[\d.]+/g).slice(0, 3).map(Number);
    const channel = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
    const ratio = (a, b) => (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    return [...document.querySelectorAll(".microlight span")].flatMap((token) => {
        let block = token.parentElement;
        while (/^rgba\(.*, 0\)$|transparent/.test(getComputedStyle(block).backgroundColor)) block = block.parentElement;
        const shown = ratio(luminance(rgb(getComputedStyle(token).color)),
                            luminance(rgb(getComputedStyle(block).backgroundColor)));
        return shown < 4.5 ? [[token.textContent, getComputedStyle(token).color, shown.toFixed(2)]] : [];
    });
}"""


def _api_docs_violations(page: Any, live_site: LiveSite) -> dict[str, list[dict[str, Any]]]:
    """axe on the API docs page (Swagger UI) as a reader uses it: as it opens; with an operation of each method, a
    model and a tried-out request's answer open; with the "Authorize" dialog open."""
    found = {}
    page.goto(live_site.url("e2e-co.localhost", "/api/docs/"))
    page.locator(".opblock").first.wait_for()
    found["/api/docs/"] = axe_serious(page)
    for method in ("get", "post", "patch", "delete"):
        page.locator(f".opblock-{method} .opblock-summary-control").first.click()
    page.locator(".model-box-control").first.click()
    page.locator(".try-out__btn").first.click()
    page.locator(".btn.execute").first.click()
    page.locator(".live-responses-table").first.wait_for()
    # axe leaves out the parts of a code block scrolled out of its box, so every highlighted token is measured here:
    # the tried answer (the seeded workspace's invitations) has numbers, the highlighter's dimmest colour.
    answer = page.locator(".live-responses-table .microlight").first
    assert answer.locator("span", has_text=re.compile(r"^\d+$")).count(), answer.inner_text()
    faint = page.evaluate(CODE_CONTRAST)
    assert not faint, f"highlighted tokens under 4.5:1 against their block: {faint[:5]}"
    found["/api/docs/ with operations open and a request tried"] = axe_serious(page)
    page.locator("button.authorize").first.click()
    page.locator(".modal-ux").wait_for()
    found["/api/docs/ with the Authorize dialog"] = axe_serious(page)
    return found


def test_axe_finds_no_serious_violation_on_the_main_pages(
    context_at: Any, live_site: LiveSite, ids: dict[str, int]
) -> None:
    assert AXE.exists(), f"{AXE} is missing: run `make e2e-deps` (npm ci in tests/e2e)"
    page = context_at(DESKTOP)
    found: dict[str, list[dict[str, Any]]] = {}
    visited = 0
    for path in ROOT_PAGES:
        page.goto(live_site.url("localhost", path))
        visited += 1
        if violations := axe_serious(page):
            found["root " + path] = violations
    # Signed in on the root: the workspaces list, and the sign-up's second step with its "available" message shown.
    page.goto(live_site.url("localhost", "/login/"))
    page.get_by_label("Email").fill(OWNER[0])
    page.get_by_label("Password").fill(OWNER[1])
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_load_state()
    for path in ["/workspaces/", "/signup/workspace/"]:
        page.goto(live_site.url("localhost", path))
        visited += 1
        if path == "/signup/workspace/":
            page.locator("input[name=subdomain]").fill("layout-check-free")
            page.locator(".field-ok").wait_for()
        if violations := axe_serious(page):
            found["root " + path] = violations
    page = context_at(DESKTOP)  # signed out again: the workspace's own sign-in, as a bookmark would open it
    sign_in(page, live_site)
    for path in workspace_pages(ids):
        page.goto(live_site.url("e2e-co.localhost", path))
        visited += 1
        if violations := axe_serious(page):
            found[path] = violations
    api_docs = _api_docs_violations(page, live_site)
    found |= {state: violations for state, violations in api_docs.items() if violations}
    assert visited == len(ROOT_PAGES) + 2 + len(workspace_pages(ids))
    assert len(api_docs) == 3
    assert not found, json.dumps(found, indent=1)


def _overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_toast_keeps_clear_of_the_invitation_it_reports_on_and_never_moves_the_page(
    context_at: Any, live_site: LiveSite, ids: dict[str, int], viewport: dict[str, int]
) -> None:
    page = context_at(viewport)
    sign_in(page, live_site)
    page.goto(live_site.url("e2e-co.localhost", "/settings/invitations/"))
    email = f"toast-{viewport['width']}-{uuid.uuid4().hex[:6]}@example.com"

    # when: an invitation is sent, its row appears at the top of the pending list and a toast says so
    page.get_by_label("Email addresses").fill(email)
    page.get_by_role("button", name="Send 1 invitation").click()
    toast = page.locator(".flash", has_text=email)
    toast.wait_for()
    page.evaluate("() => Promise.all(document.getAnimations().map(a => a.finished))")
    cells = page.locator("tr", has_text=email).locator("td")

    # then: the toast covers none of the new row's cells (its status, its Resend and Revoke buttons)…
    def covered() -> list[str]:
        box = toast.bounding_box()
        assert box is not None
        return [c.inner_text() for c in cells.all() if (cell := c.bounding_box()) and _overlap(box, cell)]

    assert cells.count() == 5
    assert covered() == [], toast.bounding_box()
    shoot(page, f"toast-clear-of-its-row-{viewport['width']}")
    # …nor when the row is scrolled to the window's bottom edge, where a toast sits at first
    bottom = cells.last.evaluate("c => c.getBoundingClientRect().bottom + window.scrollY")
    page.evaluate("y => window.scrollTo(0, y)", bottom - viewport["height"] + 4)
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
    assert covered() == [], toast.bounding_box()

    # and: it floats over the page, never in its flow: the (phone's sticky) bar stays at the top, and the page does not
    # move when the toast goes
    page.evaluate("() => window.scrollTo(0, 0)")
    title = page.locator(".page-title").bounding_box()
    if viewport == PHONE:
        bar = page.locator(".app-bar").bounding_box()
        assert bar is not None
        assert bar["y"] == 0
    toast.locator(".flash__close").click()
    toast.wait_for(state="detached")
    assert page.locator(".page-title").bounding_box() == title


def test_toasts_on_a_phone_sit_above_the_page_close_themselves_and_undo_a_revoke(
    context_at: Any, live_site: LiveSite, ids: dict[str, int]
) -> None:
    page = context_at(PHONE)
    page.clock.install()
    sign_in(page, live_site)
    page.goto(live_site.url("e2e-co.localhost", "/settings/invitations/"))
    manage_shell(INVITE.format(email="undo-me@example.com"))
    page.reload()
    row = page.locator("tr", has_text="undo-me@example.com")

    # when: revoked, the toast says so with an "Undo", above the page rather than over its buttons
    row.get_by_role("button", name="Revoke").click()
    toast = page.locator(".flash", has_text="undo-me@example.com")
    toast.wait_for()
    box, send = toast.bounding_box(), page.get_by_role("button", name="Send invitations").bounding_box()
    assert box is not None
    assert send is not None
    assert not _overlap(box, send), (box, send)
    assert page.locator("tr", has_text="undo-me@example.com").count() == 0
    shoot(page, "phone-revoke-undo")

    # and: a toast with an action stays put (no timer), until "Undo" is used
    page.clock.run_for(20_000)
    assert toast.is_visible()
    toast.get_by_role("button", name="Undo").click()
    restored = page.locator(".flash", has_text="is pending again")
    restored.wait_for()
    assert page.locator("tr", has_text="undo-me@example.com").count() == 1

    # then: a plain confirmation waits while pointed at, and closes by itself six seconds after
    restored.hover()
    page.clock.run_for(10_000)
    assert restored.is_visible()
    page.mouse.move(5, 800)
    page.clock.run_for(6_500)
    restored.wait_for(state="detached")
