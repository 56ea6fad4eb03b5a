"""How long until allauth's rate limits (ACCOUNT_RATE_LIMITS, with Atrium's own "workspace_create") let a request
through again: what the 429 page and the code page's "Resend code" countdown tell people.

allauth keeps, per limit and per source (IP, account or key such as an email address), the times of recent hits in
the cache; a limit `amount/duration` is full while `amount` hits are younger than `duration`. Reading those lists
(no writes) answers "when does the oldest of them expire".
"""

from __future__ import annotations

import time

from allauth.core.internal import ratelimit as allauth_ratelimit
from django.http import HttpRequest

APP = "allauth.account"


def retry_after(request: HttpRequest, *, action: str, key: str | None = None, now: float | None = None) -> int:
    """Seconds until `action`'s limits let this request through (0: they would now). `key`: the email address (or
    other key) of per-key limits; those are skipped without one, per-user limits without a signed-in user."""

    now = time.time() if now is None else now
    wait = 0.0
    for rate in allauth_ratelimit.get_rates(app=APP, action=action):
        if (rate.per == "key" and not key) or (rate.per == "user" and not request.user.is_authenticated):
            continue
        cache_key = allauth_ratelimit.get_cache_key(
            request, app=APP, action=action, rate=rate, key=key.lower() if key else None
        )
        history = [t for t in allauth_ratelimit.cache.get(cache_key, []) if t > now - rate.duration]
        if len(history) >= rate.amount:
            wait = max(wait, min(history) + rate.duration - now)
    return int(wait + 0.999)


# What each path may have been refused for, and where its key (an email address) is in the form.
_PATH_ACTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("/accounts/signup/", ("signup", "confirm_email")),
    ("/accounts/confirm-email/", ("confirm_email",)),
    ("/accounts/login/code/", ("request_login_code",)),
    ("/accounts/password/reset/key/", ("reset_password_from_key",)),
    ("/accounts/password/reset/", ("reset_password",)),
    ("/accounts/password/change/", ("change_password",)),
    ("/accounts/email/", ("manage_email",)),
    ("/signup/workspace/", ("workspace_create",)),
    ("/login/", ("login", "login_failed")),
    ("/accounts/login/", ("login", "login_failed")),
)


def retry_after_for_request(request: HttpRequest, *, email: str = "") -> int:
    """Seconds until the limit that refused this request lets it through, judged by its path (0 if unknown)."""
    email = email or str(request.POST.get("email") or request.POST.get("login") or "")[:254]
    for prefix, actions in _PATH_ACTIONS:
        if request.path.startswith(prefix):
            return max(retry_after(request, action=a, key=email or None) for a in actions)
    return 0


def in_words(seconds: int) -> str:
    """ "in 3 minutes", "in 40 seconds", "in a little while" (unknown)."""
    if seconds <= 0:
        return "in a little while"
    if seconds < 60:
        return f"in {seconds} second{'s' if seconds != 1 else ''}"
    minutes = (seconds + 59) // 60
    if minutes < 120:
        return f"in {minutes} minute{'s' if minutes != 1 else ''}"
    hours = (minutes + 59) // 60
    return f"in {hours} hours"
