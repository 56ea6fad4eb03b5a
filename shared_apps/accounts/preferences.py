"""A person's language and time zone: which apply to a request, and to mail written for someone.

Language: the person's own choice, then (on a workspace host) the workspace's default, then what Django's
LocaleMiddleware found (the footer switcher's cookie, then `Accept-Language`). Time zone: the person's (detected by
their browser on first sign-in, editable on the profile), UTC otherwise. Times are stored in UTC; templates show them
in the active zone, and pages and mail name it.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import tzinfo
from functools import cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

from shared_apps.accounts.models import User

TIME_ZONE_MAX_LENGTH = 64


def language_codes() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


@cache
def time_zone_names() -> frozenset[str]:
    """Every IANA zone name this system knows (the same list the browser picks from)."""
    return frozenset(zoneinfo.available_timezones())


def is_time_zone(name: str) -> bool:
    return len(name) <= TIME_ZONE_MAX_LENGTH and name in time_zone_names()


def zone_of(name: str) -> tzinfo:
    """The zone called `name`, UTC for an empty or unknown name."""
    if name and is_time_zone(name):
        return zoneinfo.ZoneInfo(name)
    return zoneinfo.ZoneInfo("UTC")


def language_for(*, user: User | None, workspace_language: str = "") -> str:
    """The language to write to a person in: theirs, else the workspace's default, else English."""
    codes = language_codes()
    for language in ((user.language if user else ""), workspace_language):
        if language in codes:
            return language
    return settings.LANGUAGE_CODE


@contextmanager
def recipient_locale(*, user: User | None = None, email: str = "", workspace_language: str = "") -> Iterator[None]:
    """Render mail in its reader's language and time zone (around the subject and both bodies). `email` finds the
    account when the caller has only an address; someone without an account gets the workspace's default and UTC."""
    if user is None and email:
        user = User.objects.filter(email__iexact=email).only("language", "time_zone").first()
    language = language_for(user=user, workspace_language=workspace_language)
    with translation.override(language), timezone.override(zone_of(user.time_zone if user else "")):
        yield


def time_zone_label() -> str:
    """The active time zone's name, for headers that say which zone their times are in ("Europe/Berlin", "UTC")."""
    return str(timezone.get_current_timezone_name())


class PreferencesMiddleware:
    """Activates the person's language (or the workspace's default) and time zone for the request. After
    AuthenticationMiddleware and LocaleMiddleware; no query of its own (the default language is on the route)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Only a request with a session can have a person: others (API keys, health checks, visitors) load nothing.
        user = getattr(request, "user", None) if settings.SESSION_COOKIE_NAME in request.COOKIES else None
        person = user if isinstance(user, User) else None
        language = person.language if person else ""
        route = getattr(request, "route", None)
        chose = settings.LANGUAGE_COOKIE_NAME in request.COOKIES
        if not language and route is not None and not chose:
            language = getattr(route, "language", "")
        if language in language_codes():
            translation.activate(language)
            request.LANGUAGE_CODE = language
        timezone.activate(zone_of(person.time_zone if person else ""))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
