"""The profile page's sessions: named by browser ("Chrome on Linux"), one row per browser for its sign-ins on the
root and on workspaces, another account's sessions never shown."""

from __future__ import annotations

from datetime import timedelta
from html import unescape

import pytest
from allauth.usersessions.models import UserSession
from django.utils import timezone

from shared_apps.accounts.models import User
from shared_apps.accounts.selectors import sessions_by_browser
from tenants.models import Tenant
from tests.conftest import HostClient, client_for

pytestmark = pytest.mark.django_db

CHROME_LINUX = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"


def session(user: User, key: str, ua: str, ip: str, minutes_ago: int = 0) -> UserSession:
    when = timezone.now() - timedelta(minutes=minutes_ago)
    return UserSession.objects.create(
        user=user, session_key=key, user_agent=ua, ip=ip, created_at=when, last_seen_at=when
    )


def test_one_browsers_root_and_workspace_sessions_are_one_row(member: User) -> None:
    rows = sessions_by_browser(
        [
            session(member, "root", CHROME_LINUX, "203.0.113.5", 1),
            session(member, "acme", CHROME_LINUX, "203.0.113.5", 30),
            session(member, "laptop", FIREFOX_WINDOWS, "198.51.100.7", 60),
            session(member, "elsewhere", CHROME_LINUX, "192.0.2.44", 90),  # same browser kind, another place
        ],
        current_session_key="acme",
    )

    assert [(r["label"], r["ip"], len(r["sessions"]), r["current"]) for r in rows] == [
        ("Chrome on Linux", "203.0.113.5", 2, True),
        ("Firefox on Windows", "198.51.100.7", 1, False),
        ("Chrome on Linux", "192.0.2.44", 1, False),
    ]
    assert rows[0]["last_seen_at"] > rows[0]["created_at"]


def test_the_profile_page_names_browsers_and_groups_them(tenant_client: HostClient, member: User, owner: User) -> None:
    tenant_client.force_login(member)
    session(member, "root-key", CHROME_LINUX, "203.0.113.5", 5)
    current = tenant_client.session.session_key
    assert current is not None
    session(member, current, CHROME_LINUX, "203.0.113.5")
    session(member, "other-laptop", FIREFOX_WINDOWS, "198.51.100.7", 60)
    session(
        owner, "owners-own", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Version/18.1 Safari/605.1.15", "1.1.1.1"
    )

    page = unescape(tenant_client.get("/settings/profile/").content.decode())
    sessions = page[page.index('id="sessions"') :]

    assert sessions.count(">Chrome on Linux</p>") == 1
    assert "signed in 2 places" in sessions
    assert ">Firefox on Windows</p>" in sessions
    assert "Safari on macOS" not in sessions  # another account's session
    # two browsers, and two places to sign out of: this browser's root page and the other laptop
    assert 'Signed-in browsers <span class="badge">2</span>' in sessions
    assert "Sign out of 2 other places" in sessions


def test_one_browser_on_the_root_and_a_workspace_reads_as_one_browser_and_one_other_place(
    tenant_client: HostClient, member: User
) -> None:
    tenant_client.force_login(member)
    session(member, "root-key", CHROME_LINUX, "203.0.113.5", 5)
    current = tenant_client.session.session_key
    assert current is not None
    session(member, current, CHROME_LINUX, "203.0.113.5")

    page = unescape(tenant_client.get("/settings/profile/").content.decode())
    sessions = page[page.index('id="sessions"') :]

    assert "Active sessions" not in sessions  # "1 session" beside "sign out other sessions (1)" contradicted itself
    assert 'Signed-in browsers <span class="badge">1</span>' in sessions
    assert "signed in 2 places" in sessions
    assert "Sign out of 1 other place<" in sessions


def _signed_in_key(tenant: Tenant, user: User) -> str:
    """A real signed-in session of `user` (allauth's list purges rows whose session is gone or signed out)."""
    browser = client_for(tenant)
    browser.force_login(user)
    return str(browser.session.session_key)


def test_the_sessions_page_lists_a_browser_once_however_many_places_it_signed_in(
    tenant: Tenant, tenant_client: HostClient, member: User
) -> None:
    tenant_client.force_login(member)
    session(member, _signed_in_key(tenant, member), CHROME_LINUX, "203.0.113.5", 5)  # the same browser on the home page
    current = tenant_client.session.session_key
    assert current is not None
    session(member, current, CHROME_LINUX, "203.0.113.5")
    session(member, _signed_in_key(tenant, member), FIREFOX_WINDOWS, "198.51.100.7", 60)

    page = unescape(tenant_client.get("/accounts/sessions/").content.decode())

    assert "You're signed in on 2 browsers." in page
    assert page.count('class="aa-session__ua"') == 2
    assert page.count("This browser") == 2  # the badge on the current row, and the footer's "This browser stays…"
