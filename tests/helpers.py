"""Helpers for tests that start real processes against the test database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import psycopg
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import Permission
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection, connections
from django.db.models import Q

from shared_apps.accounts.models import User
from shared_apps.accounts.sessions import SESSION_TENANT_KEY


def signed_in_session(user: Any, tenant: Any, *, reauthenticated_at: float | None = None) -> str:
    """The key of a new, saved session of `user` on `tenant`'s host, as a sign-in there makes it (for a real HTTP
    client of a server subprocess: sent as the `sessionid` cookie); with `reauthenticated_at`, the password was
    entered again then (allauth's "confirm it's you", which pages that change security settings ask for)."""

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session[SESSION_TENANT_KEY] = tenant.pk
    if reauthenticated_at is not None:
        session["account_authentication_methods"] = [
            {"method": "password", "at": reauthenticated_at, "reauthenticated": True, "email": user.email}
        ]
        session["account_authentication_methods_user"] = str(user.pk)
    session.create()
    return str(session.session_key)


def wait_until(what: str, check: Callable[[], Any], timeout: float = 60.0, every: float = 0.1) -> Any:
    """`check()`'s first truthy result, asked every `every` seconds; AssertionError after `timeout` seconds."""

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"{what}: not within {timeout}s")


def database_url_for_tests() -> str:
    """A DATABASE_URL for the database this test session uses (pytest-django's test_ database)."""
    s = connection.settings_dict
    host = s.get("HOST") or ""
    user = quote(s.get("USER") or "postgres")
    password = quote(s.get("PASSWORD") or "")
    auth = f"{user}:{password}@" if password else f"{user}@"
    if host.startswith("/"):
        return f"postgresql://{auth}/{s['NAME']}?host={quote(host)}"
    port = f":{s['PORT']}" if s.get("PORT") else ""
    return f"postgresql://{auth}{host}{port}/{s['NAME']}"


def subprocess_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings.test", "DATABASE_URL": database_url_for_tests()})
    env.update(extra)
    return env


def manage_shell(script: str, *, timeout: float = 300) -> str:
    """Run `script` in `manage.py shell` on the test database (what it commits, a live server reads); its output."""
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        cwd=settings.BASE_DIR,
        check=False,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def committed_sql(query: str, params: Any = None) -> list[tuple[Any, ...]]:
    """Run SQL on a connection of its own, committed at once, outside the test's transaction (race-test setup and
    clean-up)."""

    with psycopg.connect(database_url_for_tests(), autocommit=True) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def in_own_connection(call: Callable[[], Any]) -> Any:
    """Run ORM code in a thread with a connection of its own (autocommit: it commits), outside the test's
    transaction; returns what `call` returned (None if it raised)."""

    result: list[Any] = []

    def run() -> None:
        try:
            result.append(call())
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    return result[0] if result else None


def run_concurrently(calls: Sequence[Callable[[], Any]], *, before_each: Callable[[], Any] | None = None) -> list[Any]:
    """Run each call in its own thread and connection, all at once; returns each result, or the exception it raised.
    `before_each` runs in the thread first (e.g. a barrier wait, so the calls start together)."""

    results: list[Any] = [None] * len(calls)

    def run(i: int, call: Callable[[], Any]) -> None:
        try:
            if before_each is not None:
                before_each()
            results[i] = call()
        except Exception as exc:  # noqa: BLE001  (the outcome under test)
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def local(url: str) -> str:
    """The path and query of an absolute URL (test clients talk to one host each)."""

    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def handoff_ticket(root: Any, workspace: Any, *, slug: str | None = None, start_url: str | None = None) -> str:
    """Walk the handoff as a browser does, with one client per host: the root's /workspaces/<slug>/open/ (or a
    `start_url` the root already answered with) → the workspace's /auth/start/ (which sets the binding cookie in
    `workspace`'s jar) → the root again, which answers with the ticket URL. Returns that URL, not yet redeemed."""
    if start_url is None:
        opened = root.get(f"/workspaces/{slug}/open/")
        assert opened.status_code == 302, opened.content[:300]
        start_url = str(opened["Location"])
    assert "/auth/start/" in start_url, start_url
    bound = workspace.get(local(start_url))
    assert bound.status_code == 302, bound.content[:300]
    minted = root.get(local(str(bound["Location"])))
    assert minted.status_code == 302, minted.content[:300]
    return str(minted["Location"])


# --- operators: two-factor authentication and recent re-authentication --------------------------------------------


def mfa_enable(user: Any) -> str:
    """Turn on an authenticator app for `user` (as the activation page does); returns its secret."""

    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return str(secret)


def totp_code(secret: str, *, step: int = 0) -> str:
    """The authenticator app's code for `secret` now (or `step` periods later)."""

    return str(format_hotp_value(hotp_value(secret, int(time.time()) // 30 + step)))


def fresh_totp_code(secret: str, *, margin: float = 4.0) -> str:
    """The authenticator app's code for `secret`, for a browser to type now: allauth accepts only the current code, so
    when fewer than `margin` seconds of its 30 s window are left, wait for the next window first."""

    if (left := 30 - time.time() % 30) < margin:
        time.sleep(left + 0.5)
    return totp_code(secret)


def reauthenticated(client: Any, user: Any, *, seconds_ago: float = 0.0) -> None:
    """Record in `client`'s session that `user` re-entered their password `seconds_ago`, as allauth's re-authentication
    page does (what operators need before impersonating)."""

    session = client.session
    session["account_authentication_methods"] = [
        {"method": "password", "at": time.time() - seconds_ago, "reauthenticated": True, "email": user.email}
    ]
    session["account_authentication_methods_user"] = str(user.pk)
    session.save()


def operator_create(email: str, *permissions: str, superuser: bool = False, mfa: bool = True) -> Any:
    """A staff account holding `permissions` ("app_label.codename"), with an authenticator app unless `mfa=False`."""

    user = User.objects.create_user(
        email=email, password="operator-password-123", is_staff=True, is_superuser=superuser
    )
    if permissions:
        query = Q()
        for permission in permissions:
            app_label, codename = permission.split(".", 1)
            query |= Q(content_type__app_label=app_label, codename=codename)
        user.user_permissions.set(Permission.objects.filter(query))
    if mfa:
        mfa_enable(user)
    return User.objects.get(pk=user.pk)  # a fresh instance: no cached permissions


def user_change_form(user: Any, **changes: Any) -> dict[str, Any]:
    """What the admin's account page posts for `user`, with `changes` (a None value leaves a field out)."""
    data: dict[str, Any] = {
        "email": user.email,
        "name": user.name,
        "is_active": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        "initial-date_joined_0": "2026-01-01",
        "initial-date_joined_1": "00:00:00",
        # the read-only memberships inline still posts its management form
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
    }
    for field in ("is_staff", "is_superuser"):
        if getattr(user, field):
            data[field] = "on"
    data.update({k: v for k, v in changes.items() if v is not None})
    return data


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def live_runserver(log_path: Path, env: dict[str, str] | None = None) -> Iterator[int]:
    """`manage.py runserver` on the test database on a free loopback port, its output in `log_path` (a file, never an
    unread pipe: a chatty server would fill it and stall); yields the port, stops the server on exit."""
    port = free_port()
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
            env=env or subprocess_env(),
            cwd=settings.BASE_DIR,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120  # system checks and URLconfs take a while on a busy two-core machine
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError("runserver did not start: " + log_path.read_text()[-5000:])
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)
