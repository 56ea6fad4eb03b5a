"""The Stripe-compatible server on loopback for the test session (`devtools.stripe_local`), like the OIDC provider.

Started once per session in a subprocess on 127.0.0.1:<free port>; Atrium's settings (and any server subprocess a test
starts, through the environment) point the real `stripe` SDK at it, and the plans are synced into it. Tests read
the events it signed from `/_local/webhooks` and deliver them to the webhook endpoint themselves (`LocalStripe.
deliver_new`), or let it POST them to a live server (`configure(webhook_url=...)`).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

REPO_ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 20.0


@dataclass
class LocalStripe:
    base_url: str
    log_path: Path
    seen: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def session(self) -> requests.Session:
        s = requests.Session()
        s.trust_env = False
        return s

    def webhooks(self, after: int = 0) -> list[dict[str, Any]]:
        return list(self.session().get(f"{self.base_url}/_local/webhooks", params={"after": after}, timeout=5).json())

    def skip_pending(self) -> None:
        """Forget the events signed so far (each test delivers only its own)."""
        events = self.webhooks(self.seen)
        if events:
            self.seen = events[-1]["seq"]

    def new_events(self) -> list[dict[str, Any]]:
        events = self.webhooks(self.seen)
        if events:
            self.seen = events[-1]["seq"]
        return events

    def requests_log(self) -> list[dict[str, Any]]:
        return list(self.session().get(f"{self.base_url}/_local/requests", timeout=5).json())

    def configure(self, **config: Any) -> None:
        self.session().post(f"{self.base_url}/_local/config", json=config, timeout=5).raise_for_status()

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_local_stripe(workdir: Path) -> tuple[subprocess.Popen[bytes], LocalStripe]:
    port = _free_port()
    log_path = workdir / "stripe-local.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "devtools.stripe_local", "--port", str(port)],
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    local = LocalStripe(base_url=f"http://127.0.0.1:{port}", log_path=log_path)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the local Stripe server exited before serving:\n{local.output()}", pytrace=False)
        try:
            if local.session().get(f"{local.base_url}/_local/health", timeout=1).status_code == 200:
                return process, local
        except requests.RequestException:
            time.sleep(0.05)
    process.kill()
    pytest.fail(
        f"the local Stripe server did not answer within {START_TIMEOUT:.0f} s:\n{local.output()}", pytrace=False
    )


@pytest.fixture(scope="session", autouse=True)
def local_stripe() -> Iterator[LocalStripe]:
    """Every test session has one; the settings and the environment of subprocesses point at it."""
    from django.conf import settings  # noqa: PLC0415  (a pytest plugin: loaded before Django is set up)

    if settings.STRIPE_SECRET_KEY:  # real test keys: the suite talks to Stripe's test mode instead
        yield LocalStripe(base_url="", log_path=Path(os.devnull))
        return
    with tempfile.TemporaryDirectory(prefix="stripe-local-") as workdir:
        process, local = start_local_stripe(Path(workdir))
        previous = os.environ.get("STRIPE_API_BASE")
        os.environ["STRIPE_API_BASE"] = local.base_url
        settings.STRIPE_API_BASE = local.base_url
        try:
            from billing.services import plans_sync  # noqa: PLC0415  (a pytest plugin: loaded before Django is set up)

            plans_sync()
            yield local
        finally:
            if previous is None:
                os.environ.pop("STRIPE_API_BASE", None)
            else:
                os.environ["STRIPE_API_BASE"] = previous
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=10)
