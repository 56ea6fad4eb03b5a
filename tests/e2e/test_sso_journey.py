"""The enterprise identity journey in the browser: an admin verifies the organisation's domain (the DNS answered by a
server of the test's on loopback), connects the workspace to a SAML identity provider (the suite's pysaml2 IdP on
loopback, real signatures) from Settings → Single sign-on, and a new person of that domain signs in through the root's
"Sign in with SSO", the IdP and the handoff, landing as a member; the IdP's SCIM client then deactivates them and
their next request is refused. The Single sign-on settings page is the README's screenshot."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from django.conf import settings

from tests.dns_server import LoopbackDns, running_dns
from tests.e2e.conftest import LiveSite, _manage, shoot
from tests.helpers import subprocess_env
from tests.saml_idp import SamlIdP, running_saml_idp

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]

README_SHOTS = Path(settings.BASE_DIR) / "static" / "img" / "readme"
PASSWORD = "vellum-orchid-quartz-58"


@pytest.fixture(scope="module", autouse=True)
def dns() -> Iterator[LoopbackDns]:
    """Started before the module's server, which reads IDENTITY_DNS_NAMESERVER from its environment."""
    with running_dns() as server:
        previous = os.environ.get("IDENTITY_DNS_NAMESERVER")
        os.environ["IDENTITY_DNS_NAMESERVER"] = server.nameserver
        try:
            yield server
        finally:
            if previous is None:
                os.environ.pop("IDENTITY_DNS_NAMESERVER", None)
            else:
                os.environ["IDENTITY_DNS_NAMESERVER"] = previous


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SamlIdP]:
    with running_saml_idp(tmp_path_factory.mktemp("e2e-saml-idp")) as provider:
        yield provider


@pytest.fixture
def company(live_site: LiveSite) -> Iterator[tuple[str, str]]:
    slug = f"sso-{uuid.uuid4().hex[:6]}"
    env = subprocess_env(SITE_PORT=str(live_site.port))
    email = f"owner@{slug}.e2e.test"
    _manage(
        "tenant", "create", "--slug", slug, "--name", "Initech", "--owner-email", email, "--password", PASSWORD,
        env=env,
    )  # fmt: skip
    yield slug, email
    _manage("tenant", "delete", slug, "--yes", env=env)


def _sign_in(page: Any, live_site: LiveSite, host: str, email: str) -> None:
    page.goto(live_site.url(host, "/login/"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(re.compile(re.escape(host) + r":\d+/$"))


def test_an_admin_connects_saml_and_a_new_person_signs_in_then_scim_deactivates_them(
    browser: Any, live_site: LiveSite, dns: LoopbackDns, idp: SamlIdP, company: tuple[str, str]
) -> None:
    slug, owner_email = company
    host = f"{slug}.localhost"
    domain = f"{slug}-corp.example"
    person = f"ada@{domain}"
    idp.person = {"email": person, "given_name": "Ada"}
    admin = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()

    # given: the admin verifies the organisation's domain; the DNS answers with the record the page shows
    _sign_in(admin, live_site, host, owner_email)
    admin.goto(live_site.url(host, "/settings/sso/"))
    admin.get_by_label("Domain", exact=True).fill(domain)
    admin.get_by_role("button", name="Add domain").click()
    record = admin.locator("#domains td[data-label='TXT record'] code")
    dns.records[record.nth(0).inner_text().strip().lower()] = [record.nth(1).inner_text().strip()]
    admin.get_by_role("button", name=f"Check now {domain}").click()
    admin.get_by_text(f"{domain} is verified.").wait_for()

    # when: the admin connects the SAML identity provider by its metadata URL
    admin.get_by_label("Metadata URL").fill(idp.metadata_url)
    admin.get_by_role("button", name="Connect the SAML identity provider").click()
    admin.get_by_text("The SAML identity provider is connected").wait_for()
    sp = admin.locator("[data-testid=saml-sp]")
    assert "/accounts/saml/ws-" in sp.inner_text()
    assert admin.locator("[data-testid=saml-certificates] tbody tr").count() == 1
    shoot(admin, "60-settings-sso-saml")
    admin.reload()  # the README's pictures without the toast
    admin.locator("#domains").screenshot(path=str(README_SHOTS / "settings-sso-domains.png"))
    admin.locator("#saml").screenshot(path=str(README_SHOTS / "settings-sso-saml.png"))

    # then: a new person of the domain signs in through "Sign in with SSO" on the root and lands as a member
    newcomer = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    newcomer.goto(live_site.url("localhost", "/sso/"))
    newcomer.get_by_label("Work email").fill(person)
    newcomer.get_by_role("button", name="Continue", exact=True).click()
    newcomer.get_by_role("button", name="Continue to Initech's sign-in").click()  # → the IdP, which posts back
    continue_as = newcomer.get_by_role("button", name=f"Continue as {person}")
    newcomer.wait_for_url(re.compile(re.escape(host) + r":\d+/"))
    if continue_as.count():
        continue_as.click()
    newcomer.wait_for_url(re.compile(re.escape(host) + r":\d+/$"))
    assert newcomer.goto(live_site.url(host, "/")).status == 200

    # when: the IdP's SCIM client provisions the person, then deactivates them
    admin.goto(live_site.url(host, "/settings/sso/"))
    admin.get_by_label("Token name").fill("Identity provider")
    admin.get_by_role("button", name=re.compile("Create.*token", re.I)).click()
    secret = admin.locator("#new-scim-token-secret").input_value()
    scim = requests.Session()
    scim.headers.update({
        "Authorization": f"Bearer {secret}",
        "Content-Type": "application/scim+json",
        "Host": f"{host}:{live_site.port}",  # *.localhost is the browser's; the client asks 127.0.0.1 for that host
    })  # fmt: skip
    base = f"http://127.0.0.1:{live_site.port}/scim/v2/Users"
    user = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": person,
        "emails": [{"value": person, "primary": True}],
        "active": True,
    }
    made = scim.post(base, json=user, timeout=10)
    assert made.status_code == 201, made.text
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": False}}],
    }
    assert scim.patch(f"{base}/{made.json()['id']}", json=patch, timeout=10).status_code == 200

    # then: their very next request is refused
    refused = newcomer.goto(live_site.url(host, "/"))
    assert refused.status == 403
