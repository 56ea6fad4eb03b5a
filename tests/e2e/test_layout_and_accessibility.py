"""Every main page at a phone's width and a laptop's: nothing runs off the side, the sidebar becomes a drawer, wide
tables become stacked rows; and axe-core finds no serious or critical accessibility violation on any of them.

The pages are visited as the workspace's owner (who sees every settings tab), with a project, a task, a document, a
pending invitation, an API key and a second member in place, so tables and cards have rows to lay out.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from tests.e2e.conftest import LiveSite, shoot
from tests.helpers import subprocess_env

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

FIXTURE = """
import io
from PIL import Image
from shared_apps.workspaces.services import domains as workspace_domains
from tenant_apps.projects.services import documents
from allauth.account.models import EmailAddress
import datetime
from django_tenants.utils import tenant_context
from shared_apps.accounts import services
from shared_apps.accounts.models import ApiKey, Invitation, Membership, Role, User
from tenant_apps.projects import services as projects
from tenant_apps.projects.models import Label, Project, Task
from tenants.models import Domain
tenant = Domain.objects.get(domain="e2e-co.localhost").tenant
owner = User.objects.get(email="owner@e2e.test")
member, made = User.objects.get_or_create(email="layout-member@e2e.test", defaults={"name": "Grace Hopper-Lovelace"})
if made:
    member.set_password("layout-member-password")
    member.save()
    EmailAddress.objects.create(user=member, email=member.email, primary=True, verified=True)
    Membership.objects.create(user=member, tenant=tenant, role=Role.MEMBER)
invited = "a-rather-long-address.for-layout@example.com"
if not Invitation.objects.filter(tenant=tenant, email=invited).exists():
    services.invitations_create(tenant=tenant, emails=[invited], role=Role.ADMIN, acting_user=owner)
if not ApiKey.objects.filter(tenant=tenant, user=owner).exists():
    services.api_key_create(tenant=tenant, name="Nightly export to the warehouse", scope="read", acting_user=owner)
with tenant_context(tenant):
    project = Project.objects.filter(name="Website relaunch for the autumn campaign").first()
    if project is None:
        project = projects.project_create(name="Website relaunch for the autumn campaign", acting_user=owner)
        for title, status in [("Write the launch announcement for the blog and the newsletter", "todo"),
                              ("Review the pricing page copy", "doing"), ("Pick the hero photograph", "done")]:
            projects.task_create(project=project, title=title, status=status, acting_user=owner,
                                 assignee_id=owner.pk, due_date=datetime.date(2026, 12, 24))
    task = Task.objects.filter(project=project).order_by("pk").first()
    if not Label.objects.exists():
        content = projects.label_create(name="Content", color="blue", acting_user=owner)
        design = projects.label_create(name="Design", color="purple", acting_user=owner)
        for t, labels in zip(Task.objects.filter(project=project).order_by("pk"), [[content], [content], [design]]):
            t.labels.set(labels)
    if not task.documents.exists():
        for n in range(3):
            image = io.BytesIO()
            Image.new("RGB", (8, 8), (n * 80, 90, 200)).save(image, format="PNG")
            documents.document_upload(project=project, task=task, content=io.BytesIO(image.getvalue()),
                                      size=len(image.getvalue()), acting_user=owner,
                                      name=f"hero-photograph-candidate-{n}-for-the-autumn-campaign-final-v2.png")
    print("ids", project.pk, task.pk)
# Many members, some with long addresses, and a long custom domain: the states the tables must lay out.
for n in range(12):
    user, made = User.objects.get_or_create(email=f"christopher.montgomery-{n}@engineering.example-corporation.com")
    if made:
        Membership.objects.create(user=user, tenant=tenant, role=Role.MEMBER)
long_domain = "intranet-portal.a-rather-long-company-name.example.com"
if not Domain.objects.filter(domain=long_domain).exists():
    workspace_domains.workspace_domain_add(tenant=tenant, domain=long_domain, acting_user=owner)
"""

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


def _run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        cwd=settings.BASE_DIR,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def ids(live_site: LiveSite) -> dict[str, int]:
    out = _run(FIXTURE)
    found = re.search(r"ids (\d+) (\d+)", out)
    assert found, out
    return {"project": int(found.group(1)), "task": int(found.group(2))}


def workspace_pages(ids: dict[str, int]) -> list[str]:
    project, task = ids["project"], ids["task"]
    return [
        "/",
        "/projects/",
        f"/projects/{project}/",
        f"/projects/{project}/tasks/{task}/",
        f"/projects/{project}/sharing/",
        f"/projects/{project}/documents/",
        "/settings/",
        "/settings/members/",
        "/settings/invitations/",
        "/settings/billing/",
        "/settings/audit/",
        "/settings/api-keys/",
        "/settings/labels/",
        "/settings/sso/",
        "/settings/profile/",
        "/settings/domains/",
        "/settings/webhooks/",
        "/accounts/sessions/",
        "/activity/",
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
    token = re.search(r"token (\S+)", _run(LANDING))
    assert token, "no invitation token"
    wide["invitation landing"] = too_wide(page, live_site.url("localhost", f"/invitations/{token.group(1)}/"))
    sign_in(page, live_site)
    wide |= {
        "workspace " + path: too_wide(page, live_site.url("e2e-co.localhost", path)) for path in workspace_pages(ids)
    }

    assert len(wide) == len(ROOT_PAGES) + 1 + len(workspace_pages(ids))
    assert not {path: m for path, m in wide.items() if m}, json.dumps({p: m for p, m in wide.items() if m}, indent=1)


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
    assert visited == len(ROOT_PAGES) + 2 + len(workspace_pages(ids))
    assert not found, json.dumps(found, indent=1)


def test_toasts_on_a_phone_sit_above_the_page_close_themselves_and_undo_a_revoke(
    context_at: Any, live_site: LiveSite, ids: dict[str, int]
) -> None:
    page = context_at(PHONE)
    page.clock.install()
    sign_in(page, live_site)
    page.goto(live_site.url("e2e-co.localhost", "/settings/invitations/"))
    _run(INVITE.format(email="undo-me@example.com"))
    page.reload()
    row = page.locator("tr", has_text="undo-me@example.com")

    # when: revoked, the toast says so with an "Undo", above the page rather than over its buttons
    row.get_by_role("button", name="Revoke").click()
    toast = page.locator(".flash", has_text="undo-me@example.com")
    toast.wait_for()
    box, send = toast.bounding_box(), page.get_by_role("button", name="Send invitations").bounding_box()
    assert box is not None
    assert send is not None
    assert box["y"] + box["height"] <= send["y"], (box, send)
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
