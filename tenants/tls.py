"""The ask endpoint for on-demand TLS: `GET /internal/tls-allowed?domain=<host>`.

A proxy that issues certificates on demand (Caddy's `on_demand_tls { ask … }`) asks before getting one for a host it
has never seen: 200 only when Atrium routes that host (the root domain, a workspace's `<slug>.<BASE_DOMAIN>`, a
custom domain, an old subdomain still redirecting), 404 otherwise, so nobody can make the proxy request certificates
for arbitrary names (and exhaust the CA's rate limits). The answer says yes or no and nothing else: the same body
whatever the workspace, no name, no schema.

- Cheap: the routing cache (`routing.resolve`), which also remembers misses; zero queries when warm, one when cold.
- Junk is refused with 400 before any lookup or count: a missing or empty domain, more than 253 characters, NUL or
  any other character a host name cannot hold, a port, an empty or over-long label.
- Answered on any host, before routing and before the ALLOWED_HOSTS check, like `/healthz`: the proxy calls it by its
  internal address (`http://web:8000/internal/tls-allowed`). Keep `/internal/` off the public internet (the example
  Caddyfile answers 404 for it), and/or set TLS_ASK_SECRET and put `token=<secret>` in the ask URL.
- Rate limited per client address (TLS_ASK_RATE_PER_MINUTE, on the shared cache): 429 past it.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from shared_apps.core.ratelimit import Bucket, window_take
from tenants import routing

ASK_PATH = "/internal/tls-allowed"
DOMAIN_MAX = 253
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def domain_clean(raw: str | None) -> str | None:
    """The host name asked about, lower case without a trailing dot; None when it is not a host name."""
    if not raw or len(raw) > DOMAIN_MAX + 1:
        return None
    host = raw.lower().removesuffix(".")
    if not host or len(host) > DOMAIN_MAX:
        return None
    if not all(_LABEL.fullmatch(label) for label in host.split(".")):
        return None
    return host


def tls_allowed(domain: str) -> bool:
    """Whether Atrium answers for this (clean) host name."""
    return routing.resolve(domain) is not None


def _text(body: str, status: int) -> HttpResponse:
    response = HttpResponse(body + "\n", status=status, content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "no-store"
    return response


def tls_ask(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return _text("method not allowed", 405)
    secret = settings.TLS_ASK_SECRET
    if secret and not hmac.compare_digest(request.GET.get("token", "").encode(), secret.encode()):
        return _text("forbidden", 403)
    domain = domain_clean(request.GET.get("domain"))
    if domain is None:
        return _text("not a host name", 400)
    address = request.META.get("REMOTE_ADDR", "") or "unknown"
    limit = window_take([Bucket(f"tls-ask:{address}", settings.TLS_ASK_RATE_PER_MINUTE)], window=60)
    if not limit.allowed:
        response = _text("slow down", 429)
        response["Retry-After"] = str(limit.reset_after())
        return response
    return _text("ok", 200) if tls_allowed(domain) else _text("unknown", 404)


class TlsAskMiddleware:
    """Answers the ask endpoint on any host, before routing (see the module's docstring)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.rstrip("/") == ASK_PATH:
            return tls_ask(request)
        return self.get_response(request)
