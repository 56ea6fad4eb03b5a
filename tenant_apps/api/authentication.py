"""Who is calling: an API key (`Authorization: Bearer atr_…`) or the browser's session (with CSRF), as a member of
this workspace. Either way the request carries an `ApiCaller`: the role, and the scope the caller may act with."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.request import Request

from shared_apps.accounts.models import ApiKeyScope, User
from shared_apps.accounts.selectors import api_key_authenticate
from shared_apps.accounts.services import api_key_used
from shared_apps.accounts.services.api_keys import PREFIX_LENGTH
from shared_apps.core.context import acting_through_api_key, current
from shared_apps.core.ratelimit import Bucket, window_take

# One answer for every key that cannot act here (unknown, revoked, expired, another workspace's, its member gone or
# deactivated): nothing in it says which, or that the key exists anywhere else.
INVALID_KEY = "The API key is missing, wrong, expired or revoked."
# Wrong keys are counted per client address and key (its first characters, what the pages show of it), and per
# address: past either limit in a minute, a wrong key from there is answered 429, on every workspace host alike
# (trying more hosts does not buy more guesses). A right key is never refused for others' mistakes: everyone behind
# one office's address shares the address, not a key. (Guessing a key is hopeless anyway: 32 random bytes.)
KEY_FAILURES_PER_MINUTE = 20
KEY_FAILURES_PER_ADDRESS_PER_MINUTE = 200
TOO_MANY_FAILURES = "Too many wrong API keys were sent from your address. Wait a minute, then check the key."


def key_failures_buckets(ip: str | None, secret: str) -> list[Bucket]:
    """The counters of wrong keys (global, in the shared cache): this address with this key, and this address."""
    address = ip or "unknown"
    key = hashlib.sha256(secret[:PREFIX_LENGTH].encode("utf-8", "replace")).hexdigest()[:16]
    return [
        Bucket(key=f"api-key-failures:{address}:{key}", limit=KEY_FAILURES_PER_MINUTE),
        Bucket(key=f"api-key-failures:{address}", limit=KEY_FAILURES_PER_ADDRESS_PER_MINUTE),
    ]


@dataclass(frozen=True, slots=True)
class ApiCaller:
    """What `request.auth` holds on the API: how the caller signed in, with which scope, as which member."""

    method: str  # "key" or "session"
    scope: str  # ApiKeyScope: a session may do whatever the person may
    role: str
    user_id: int
    key_id: int | None = None
    key_prefix: str = ""

    @property
    def client(self) -> str:
        """The stable id the per-client rate limit counts under."""
        return f"k{self.key_id}" if self.key_id is not None else f"u{self.user_id}"

    @property
    def can_write(self) -> bool:
        return self.scope == ApiKeyScope.WRITE


def workspace_id_of(request: Request | Any) -> int:
    """The workspace the request was routed to (the API is only routed on workspace hosts)."""
    django_request = getattr(request, "_request", request)
    return int(django_request.route.tenant_id)


class ApiKeyAuthentication(BaseAuthentication):
    """`Authorization: Bearer <key>`: one SHA-256 and one indexed lookup (`api_key_authenticate`); last use is
    written at most once a minute per key. Wrong keys are counted per client address and key, and per address
    (`key_failures_buckets`): past a limit, a wrong key gets 429 (with Retry-After) until the minute ends; a right
    key is always looked at and never refused for them. A key that works marks the request's context
    (`acting_through_api_key`): every audit entry written for the request names the key."""

    keyword = "bearer"

    def authenticate(self, request: Request) -> tuple[User, ApiCaller] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _, secret = header.strip().partition(" ")
        if scheme.lower() != self.keyword:
            return None  # another scheme: not ours to judge (no other is accepted, so the request stays anonymous)
        ip = current().ip
        secret = secret.strip()
        identity = api_key_authenticate(secret=secret, tenant_id=workspace_id_of(request))
        if identity is None:
            counted = window_take(key_failures_buckets(ip, secret))  # past a limit: refused, and no longer counted
            if not counted.allowed:
                raise exceptions.Throttled(wait=counted.reset_after(), detail=TOO_MANY_FAILURES)
            raise exceptions.AuthenticationFailed(INVALID_KEY)
        acting_through_api_key(key_id=identity.key_id, prefix=identity.prefix)
        api_key_used(key_id=identity.key_id, last_used_at=identity.last_used_at, ip=ip)
        caller = ApiCaller(
            method="key",
            scope=identity.scope,
            role=identity.role,
            user_id=identity.user.pk,
            key_id=identity.key_id,
            key_prefix=identity.prefix,
        )
        return identity.user, caller

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class MemberSessionAuthentication(SessionAuthentication):
    """The browser's session on this host (the membership middleware has already turned non-members away), with
    DRF's CSRF check on every unsafe method."""

    def authenticate(self, request: Request) -> tuple[User, ApiCaller] | None:
        django_request = request._request
        user = getattr(django_request, "user", None)
        membership = getattr(django_request, "membership", None)
        if user is None or not user.is_authenticated or not user.is_active or membership is None:
            return None
        self.enforce_csrf(request)
        return user, ApiCaller(method="session", scope=ApiKeyScope.WRITE, role=membership.role, user_id=user.pk)
