"""A real OpenID Connect provider on loopback for end-to-end sign-in tests: the `oidc_provider` fixture.

The provider is django-oauth-toolkit in its own Django project (`tests/oidc_provider/`), started once per session in a
subprocess on 127.0.0.1:<free port> with its own sqlite database; it knows one user and one confidential client,
registered for allauth's callback `http://localhost[:any port]/accounts/oidc/oidc/login/callback/` (provider_id
`oidc`, as in config/settings/parts/accounts.py). PKCE (S256) is required. Register the fixture with
`pytest_plugins = ["tests.oidc_fixtures"]` in the root conftest.

    def test_sign_in(oidc_provider, public_client, settings):
        settings.SOCIALACCOUNT_PROVIDERS = oidc_provider.allauth_providers()
        response = public_client.post(f"/accounts/oidc/{oidc_provider.provider_id}/login/")
        callback = oidc_provider.login_and_consent(response["Location"])   # http://localhost/...?code=...&state=...
        response = public_client.get(callback)                              # allauth exchanges the code, over loopback

`login_and_consent` plays the user at the provider (sign in, press "Authorize") and returns the provider's final
redirect to the relying party without following it. For a server in a subprocess (browser tests), `atrium_env()` gives
the OIDC_* variables config/settings/parts/accounts.py reads. Nothing here touches Atrium's database or settings.
"""

from __future__ import annotations

import html
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
import requests

REPO_ROOT = Path(__file__).resolve().parent.parent

# The allauth `provider_id` the callbacks are registered for: the default OIDC_PROVIDER_ID of
# config/settings/parts/accounts.py.
# Another one: `running_oidc_provider(provider_id=...)`.
PROVIDER_ID = "oidc"
CLIENT_ID = "atrium-tests"
USER_EMAIL = "ada@idp.test"
USER_NAME = "Ada Lovelace"
START_TIMEOUT = 30.0


class OIDCFlowError(AssertionError):
    """The provider did not end the flow with a redirect to the relying party; the message says where it stopped."""


def callback_url(provider_id: str = PROVIDER_ID, host: str = "localhost", port: int | None = None) -> str:
    """allauth's openid_connect callback, as the relying party builds it (Django's test client: host `localhost`)."""
    netloc = f"{host}:{port}" if port else host
    return f"http://{netloc}/accounts/oidc/{provider_id}/login/callback/"


@dataclass(frozen=True)
class OIDCProvider:
    base_url: str  # http://127.0.0.1:<port>
    server_url: str  # the issuer, and allauth's `server_url`: <base_url>/o
    client_id: str
    client_secret: str
    user_email: str
    user_password: str
    user_name: str
    provider_id: str
    redirect_uris: tuple[str, ...]
    pkce_required: bool
    log_path: Path
    timeout: float = field(default=10.0)

    @property
    def discovery_url(self) -> str:
        return f"{self.server_url}/.well-known/openid-configuration"

    def discovery(self) -> dict[str, Any]:
        response = self.session().get(self.discovery_url, timeout=self.timeout)
        response.raise_for_status()
        return dict(response.json())

    def callback_url(self, host: str = "localhost", port: int | None = None) -> str:
        return callback_url(self.provider_id, host, port)

    def allauth_app(self, **settings: Any) -> dict[str, Any]:
        """An entry for `SOCIALACCOUNT_PROVIDERS["openid_connect"]["APPS"]`; keyword arguments extend its settings."""
        return {
            "provider_id": self.provider_id,
            "name": "Test identity provider",
            "client_id": self.client_id,
            "secret": self.client_secret,
            "settings": {
                "server_url": self.server_url,
                # The provider requires PKCE (S256) unless started with pkce_required=False.
                "oauth_pkce_enabled": True,
                **settings,
            },
        }

    def allauth_providers(self, **settings: Any) -> dict[str, Any]:
        """`SOCIALACCOUNT_PROVIDERS` with this provider as the one openid_connect app, shaped as in base.py."""
        return {"openid_connect": {"APPS": [self.allauth_app(**settings)], "EMAIL_AUTHENTICATION": True}}

    def atrium_env(self) -> dict[str, str]:
        """The environment that makes config/settings/parts/accounts.py configure this provider (for `runserver`
        subprocesses)."""
        return {
            "OIDC_PROVIDER_ID": self.provider_id,
            "OIDC_NAME": "Test identity provider",
            "OIDC_CLIENT_ID": self.client_id,
            "OIDC_CLIENT_SECRET": self.client_secret,
            "OIDC_SERVER_URL": self.server_url,
        }

    def output(self) -> str:
        """The provider process's log (request lines, oauthlib's reasons for refusing a request)."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def session(self) -> requests.Session:
        session = requests.Session()
        session.trust_env = False  # loopback only: no proxies, no .netrc
        return session

    def login_and_consent(self, authorize_url: str, *, allow: bool = True, password: str | None = None) -> str:
        """Play the user: open `authorize_url`, sign in, answer the consent form; return the redirect to the client.

        The returned URL is the provider's `Location` back to the relying party (the registered callback with `code`
        and `state`, or `error=access_denied` when `allow=False`, or another `error=` when the provider refuses the
        request after sign-in); it is never followed. Raises OIDCFlowError when the provider stops on a page instead
        (an unregistered redirect_uri, an unknown client, a wrong password).
        """
        session = self.session()
        response = self._follow(session, session.get(authorize_url, allow_redirects=False, timeout=self.timeout))
        if _is_redirect(response):
            return str(response.headers["Location"])

        login = _find_form(response, lambda f: "password" in f.fields)
        if login is not None:
            fields = {**login.fields, "username": self.user_email, "password": password or self.user_password}
            response = self._follow(session, self._submit(session, response, login, fields))
            if _is_redirect(response):
                return str(response.headers["Location"])
            if _find_form(response, lambda f: "password" in f.fields) is not None:
                raise OIDCFlowError(f"the provider refused the sign-in of {self.user_email}:\n{_excerpt(response)}")

        consent = _find_form(response, lambda f: f.id == "authorizationForm")
        if consent is None:
            raise OIDCFlowError(
                f"the provider answered HTTP {response.status_code} without a consent form: {_excerpt(response)}\n"
                f"(at {response.url})"
            )
        fields = dict(consent.fields)
        if allow:
            fields["allow"] = "Authorize"
        response = self._submit(session, response, consent, fields)
        response = self._follow(session, response)
        if not _is_redirect(response):
            raise OIDCFlowError(
                f"the consent form did not redirect (HTTP {response.status_code} at {response.url}):\n"
                f"{_excerpt(response)}"
            )
        return str(response.headers["Location"])

    def _submit(self, session: requests.Session, page: requests.Response, form: _Form, data: dict[str, str]) -> Any:
        action = urljoin(page.url, form.action) if form.action else page.url
        return session.post(
            action, data=data, headers={"Referer": page.url}, allow_redirects=False, timeout=self.timeout
        )

    def _follow(self, session: requests.Session, response: requests.Response) -> requests.Response:
        """Follow redirects while they stay on the provider; stop at the first one that leaves it."""
        for _ in range(10):
            if not _is_redirect(response):
                return response
            target = urljoin(response.url, response.headers["Location"])
            if _origin(target) != _origin(self.base_url):
                return response
            response = session.get(target, allow_redirects=False, timeout=self.timeout)
        raise OIDCFlowError(f"redirect loop at the provider, last at {response.url}")


def _is_redirect(response: requests.Response) -> bool:
    return response.status_code in (301, 302, 303, 307, 308) and "Location" in response.headers


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


def _excerpt(response: requests.Response, limit: int = 2000) -> str:
    """The page's text without markup; DOT's error page reads "Error: invalid_request Mismatching redirect URI." """
    text = re.sub(r"<(script|style)\b.*?</\1>|<[^>]+>", " ", response.text, flags=re.DOTALL | re.IGNORECASE)
    return " ".join(html.unescape(text).split())[:limit]


@dataclass
class _Form:
    id: str
    action: str
    fields: dict[str, str]


class _FormParser(HTMLParser):
    """The forms of a page with their named <input> values (submit buttons left out: the caller picks one)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[_Form] = []
        self._current: _Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._current = _Form(id=a.get("id", ""), action=a.get("action", ""), fields={})
            self.forms.append(self._current)
        elif (
            tag == "input"
            and self._current is not None
            and a.get("name")
            and a.get("type", "text").lower() not in ("submit", "button", "image")
        ):
            self._current.fields[a["name"]] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def _find_form(response: requests.Response, match: Any) -> _Form | None:
    if "html" not in response.headers.get("Content-Type", ""):
        return None
    parser = _FormParser()
    parser.feed(response.text)
    return next((f for f in parser.forms if match(f)), None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextmanager
def running_oidc_provider(
    workdir: Path | None = None,
    *,
    provider_id: str = PROVIDER_ID,
    redirect_uris: tuple[str, ...] | None = None,
    client_id: str = CLIENT_ID,
    user_email: str = USER_EMAIL,
    user_name: str = USER_NAME,
    email_verified: bool = True,
    pkce_required: bool = True,
) -> Iterator[OIDCProvider]:
    """Start a provider (for a fixture of another scope or other settings than `oidc_provider`'s); stop it after.

    `redirect_uris` defaults to allauth's callback for `provider_id` on http://localhost and http://127.0.0.1 (any
    port on either: loopback rule). The client secret and the user's password are new random strings each time.
    """
    own_dir = None
    if workdir is None:
        own_dir = tempfile.TemporaryDirectory(prefix="oidc-provider-")
        workdir = Path(own_dir.name)
    workdir.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    if redirect_uris is None:
        redirect_uris = (callback_url(provider_id), callback_url(provider_id, host="127.0.0.1"))
    provider = OIDCProvider(
        base_url=f"http://127.0.0.1:{port}",
        server_url=f"http://127.0.0.1:{port}/o",
        client_id=client_id,
        client_secret=secrets.token_urlsafe(32),
        user_email=user_email,
        user_password=secrets.token_urlsafe(16),
        user_name=user_name,
        provider_id=provider_id,
        redirect_uris=tuple(redirect_uris),
        pkce_required=pkce_required,
        log_path=workdir / "provider.log",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DJANGO_", "OIDC_"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "tests.oidc_provider.settings",
            "PYTHONUNBUFFERED": "1",
            "OIDC_PROVIDER_PORT": str(port),
            "OIDC_PROVIDER_DB": str(workdir / "provider.sqlite3"),
            "OIDC_PROVIDER_CLIENT_ID": provider.client_id,
            "OIDC_PROVIDER_CLIENT_SECRET": provider.client_secret,
            "OIDC_PROVIDER_REDIRECT_URIS": " ".join(provider.redirect_uris),
            "OIDC_PROVIDER_USER_EMAIL": provider.user_email,
            "OIDC_PROVIDER_USER_PASSWORD": provider.user_password,
            "OIDC_PROVIDER_USER_NAME": provider.user_name,
            "OIDC_PROVIDER_USER_EMAIL_VERIFIED": "1" if email_verified else "0",
            "OIDC_PROVIDER_PKCE_REQUIRED": "1" if pkce_required else "0",
        }
    )
    with provider.log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.oidc_provider.serve"],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_up(provider, process)
        yield provider
    finally:
        _stop(process)
        if own_dir is not None:
            own_dir.cleanup()


def _wait_until_up(provider: OIDCProvider, process: subprocess.Popen[bytes]) -> None:
    session = provider.session()
    deadline = time.monotonic() + START_TIMEOUT
    last_error = ""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"the OIDC provider exited with code {process.returncode} before serving:\n{provider.output()}",
                pytrace=False,
            )
        try:
            response = session.get(provider.discovery_url, timeout=2)
            if response.status_code == 200:
                return
            last_error = f"HTTP {response.status_code}"
        except requests.RequestException as e:
            last_error = repr(e)
        time.sleep(0.05)
    _stop(process)
    pytest.fail(
        f"the OIDC provider did not answer {provider.discovery_url} within {START_TIMEOUT:.0f} s "
        f"(last: {last_error}):\n{provider.output()}",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OIDCProvider]:
    """A running provider for the session: one user, one client registered for `callback_url(PROVIDER_ID)`."""
    with running_oidc_provider(tmp_path_factory.mktemp("oidc-provider")) as provider:
        yield provider
