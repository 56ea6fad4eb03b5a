"""Browser tests: Playwright driving Debian's Chromium against a real server on *.localhost.

The server is `manage.py runserver` in a subprocess on the test database, so everything it needs is committed: the
workspace for these journeys is made with the `tenant` command, like an operator would.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import sync_playwright

from tests.helpers import subprocess_env

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(settings.BASE_DIR) / "tests" / "e2e" / "artifacts"

pytestmark = pytest.mark.e2e


@dataclass
class LiveSite:
    port: int
    root: str
    mail_dir: Path
    base_domain: str = "localhost"

    def url(self, host: str, path: str = "/") -> str:
        return f"http://{host}:{self.port}{path}"

    def mails_to(self, address: str) -> list[str]:
        """The server's emails to `address`, oldest first, as raw text (file-based email backend)."""
        found = []
        for path in sorted(self.mail_dir.glob("*.log"), key=lambda p: p.stat().st_mtime):
            for message in path.read_text().split("-" * 79):
                if f"To: {address}" in message:
                    found.append(message)
        return found

    def wait_for_mail(self, address: str, count: int = 1, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            mails = self.mails_to(address)
            if len(mails) >= count:
                return mails[count - 1]
            time.sleep(0.1)
        raise AssertionError(f"no email #{count} to {address} within {timeout}s")


# Reports each `securitypolicyviolation` event of a page to the test (through an exposed function).
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolation(`${e.effectiveDirective} blocked ${e.blockedURI || "inline"} in ${document.URL}`
    + ` (${e.sourceFile || "?"}:${e.lineNumber}) ${e.sample || ""}`);
});
"""


class CspWatch:
    """Content Security Policy violations seen in a browser context's pages: the pages' own
    `securitypolicyviolation` events, and Chromium's console reports (which also cover what a page did just before
    it navigated away)."""

    def __init__(self) -> None:
        self.violations: list[str] = []

    def watch(self, context: Any) -> None:
        context.expose_function("__cspViolation", self._report)
        context.add_init_script(CSP_LISTENER)
        context.on("console", self._console)

    def _report(self, text: str) -> None:
        self.violations.append(text)

    def _console(self, message: Any) -> None:
        if "Content Security Policy" in message.text:
            self.violations.append(f"console ({message.type}): {message.text}")

    def take(self) -> list[str]:
        """The violations seen since the last call."""
        taken, self.violations[:] = list(self.violations), []
        return taken


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _manage(*args: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=settings.BASE_DIR,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


# Module scope: Playwright's event loop must be gone before later tests touch the database from this thread.
# A module may run its server on another root domain (LIVE_SITE_BASE_DOMAIN = "atrium.localhost"): Chromium lets a
# page on acme.atrium.localhost use the passkeys of atrium.localhost, but not those of a bare "localhost".
@pytest.fixture(scope="module")
def live_site(
    _session_tenants: Any, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[LiveSite]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's chromium package (CI does)")
    port = _free_port()
    mail_dir = tmp_path_factory.mktemp("mail")
    base_domain = str(getattr(request.module, "LIVE_SITE_BASE_DOMAIN", settings.BASE_DOMAIN))
    # A test module may give its server more environment (`live_site_env(tmp_path_factory) -> dict`).
    extra_env = getattr(request.module, "live_site_env", None)
    env = subprocess_env(
        BASE_DOMAIN=base_domain,
        SITE_PORT=str(port),
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        EMAIL_FILE_PATH=str(mail_dir),
        LIVE_STREAM_MAX_SECONDS="600",
        **(extra_env(tmp_path_factory) if extra_env else {}),
    )
    _manage(
        "tenant",
        "create",
        "--slug",
        "e2e-co",
        "--name",
        "E2E Company",
        "--owner-email",
        "owner@e2e.test",
        "--password",
        "e2e-owner-password",
        env=env,
    )
    # The server's output goes to a file, never an unread pipe: a chatty server would fill the pipe and stall.
    server_log = tmp_path_factory.mktemp("server") / "runserver.log"
    with server_log.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
            env=env,
            cwd=settings.BASE_DIR,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 120  # a server starting on a busy two-core machine
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.2)
    else:
        server.kill()
        server.wait(timeout=10)
        pytest.fail("runserver did not start: " + server_log.read_text()[-5000:])
    try:
        yield LiveSite(port=port, root=f"http://{base_domain}:{port}", mail_dir=mail_dir, base_domain=base_domain)
    finally:
        server.terminate()
        server.wait(timeout=10)
        _manage("tenant", "delete", "e2e-co", "--yes", env=env)


@pytest.fixture
def csp_watch() -> CspWatch:
    return CspWatch()


@pytest.fixture
def browser(live_site: LiveSite, csp_watch: CspWatch) -> Iterator[Any]:
    # Function scope, started after the test's database fixtures: Playwright's sync API runs an event loop in this
    # thread while it lives, and Django refuses database work inside one (and would leak connections made there).
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's chromium package (CI does)")

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        # Every context of every test is watched for Content Security Policy violations; any fails the test.
        new_context = browser.new_context

        def watched_context(*args: Any, **kwargs: Any) -> Any:
            context = new_context(*args, **kwargs)
            csp_watch.watch(context)
            return context

        browser.new_context = watched_context  # type: ignore[method-assign]
        yield browser
        browser.close()
        assert csp_watch.violations == [], "Content Security Policy violations:\n" + "\n".join(csp_watch.violations)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    yield page
    context.close()


def shoot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
