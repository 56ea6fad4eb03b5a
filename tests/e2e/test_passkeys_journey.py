"""Passkeys in a real browser: Chromium's virtual authenticator (CDP `WebAuthn`: ctap2, internal, resident keys, user
verification) stands in for a phone or a laptop's fingerprint reader.

- a passkey added on a workspace host's profile page signs in with no password on the root, which hands the person
  off into the workspace, and on the workspace host itself;
- a security key (not a passkey) added as a second factor is asked for after the password, and lets the person in.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.conftest import LiveSite, shoot
from tests.e2e.test_workspace_journeys import PASSWORD, _delete_created_workspaces, sign_in, workspace

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]

__all__ = ["_delete_created_workspaces"]  # the journeys' clean-up fixture (autouse), for this module too

# The relying-party id is the root domain, and Chromium lets acme.atrium.localhost claim "atrium.localhost" but not a
# bare "localhost" (a single label is no registrable domain): this module's server runs on atrium.localhost.
LIVE_SITE_BASE_DOMAIN = ROOT = "atrium.localhost"


@pytest.fixture
def device(browser: Any) -> Any:
    """A page whose browser has a platform authenticator with resident keys and user verification (a passkey
    device), as Chromium's DevTools protocol makes one."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    created = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    page.cdp, page.authenticator_id, page.script_errors = cdp, created["authenticatorId"], errors
    yield page
    context.close()


def _credentials(page: Any) -> list[dict[str, Any]]:
    return list(page.cdp.send("WebAuthn.getCredentials", {"authenticatorId": page.authenticator_id})["credentials"])


def _add_passkey(page: Any, live_site: LiveSite, host: str, *, name: str, passwordless: bool) -> None:
    page.goto(live_site.url(host, "/settings/profile/"))
    page.locator("#passkeys").get_by_role("link", name="Add a passkey").click()
    page.wait_for_load_state()
    if "/reauthenticate/" in page.url:  # a security change asks for the password again
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Continue").click()
    page.get_by_label("Name").fill(name)
    checkbox = page.get_by_label("Passwordless")
    assert checkbox.is_checked()  # a passkey unless unticked
    if not passwordless:
        checkbox.uncheck()
    page.get_by_role("button", name="Add passkey").click()
    page.wait_for_url(re.compile(r"/accounts/2fa/(recovery-codes/)?$"))  # allauth shows new recovery codes first


def _sign_out(page: Any, live_site: LiveSite, host: str) -> None:
    page.goto(live_site.url(host, "/logout/"))
    page.locator("#main").get_by_role("button", name="Sign out", exact=True).click()
    page.wait_for_load_state()


def test_a_passkey_signs_in_without_a_password_on_the_root_and_on_the_workspace(
    device: Any, live_site: LiveSite
) -> None:
    page = device
    slug, email = workspace(live_site, "pk")
    host = f"{slug}.{ROOT}"
    sign_in(page, live_site, host, email)

    _add_passkey(page, live_site, host, name="Work laptop", passwordless=True)
    [credential] = _credentials(page)
    assert credential["isResidentCredential"] is True
    assert credential["rpId"] == ROOT  # the root domain: one passkey for every workspace host
    page.goto(live_site.url(host, "/settings/profile/"))
    passkeys = page.locator("#passkeys")
    assert "Work laptop" in passkeys.inner_text()
    shoot(page, "60-profile-passkeys")

    # the root's sign-in page: no email, no password; the handoff carries the person into their workspace
    _sign_out(page, live_site, host)
    page.goto(live_site.url(ROOT, "/login/"))
    page.get_by_role("button", name="Sign in with a passkey").click()
    page.wait_for_url(live_site.url(host, "/"))
    assert email in page.locator("body").inner_text()

    # the workspace's own sign-in page
    _sign_out(page, live_site, host)
    _sign_out(page, live_site, ROOT)
    page.goto(live_site.url(host, "/login/"))
    page.get_by_role("button", name="Sign in with a passkey").click()
    page.wait_for_url(live_site.url(host, "/"))
    assert email in page.locator("body").inner_text()
    assert not page.script_errors, page.script_errors


def test_a_security_key_is_asked_for_after_the_password(device: Any, live_site: LiveSite) -> None:
    page = device
    slug, email = workspace(live_site, "sk")
    host = f"{slug}.{ROOT}"
    sign_in(page, live_site, host, email)
    _add_passkey(page, live_site, host, name="Desk key", passwordless=False)
    _sign_out(page, live_site, host)

    page.goto(live_site.url(host, "/login/"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_role("button", name="Use a passkey or security key").wait_for()
    shoot(page, "61-second-factor-passkey")
    page.get_by_role("button", name="Use a passkey or security key").click()
    page.wait_for_url(live_site.url(host, "/"))
    assert email in page.locator("body").inner_text()
    assert not page.script_errors, page.script_errors
