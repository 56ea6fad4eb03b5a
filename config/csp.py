"""The Content Security Policy, computed from the settings it depends on (django-csp sends it).

Everything the pages load comes from the app's own origin: scripts and styles are static files (no inline `<script>`,
no `style="…"`, no `onclick=…`), so `'unsafe-inline'` and `'unsafe-eval'` appear nowhere. A template that ever needs an
inline script gives it `nonce="{{ request.csp_nonce }}"`; the header carries that request's nonce only when one was
used. Beyond the app's own origin the policy names exactly the origins a browser must reach:

- `connect-src`: the storage endpoint, which direct uploads POST to (S3's presigned POST, from JavaScript);
- `img-src`: the same endpoint, which serves thumbnails through presigned GETs, and `data:` images (the QR code of
  the authenticator set-up is one; an image cannot run script);
- `form-action`: the root and the workspace hosts (sign-in on the root hands off to `<slug>.<BASE_DOMAIN>` through
  redirects, which form-action also governs, and back), and Stripe's checkout and customer portal, where the billing
  forms redirect to.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from csp.constants import NONCE, NONE, SELF

# Where Stripe's hosted pages live; with no key, the Stripe-compatible server on loopback serves them itself.
STRIPE_HOSTED_ORIGINS = ("https://checkout.stripe.com", "https://billing.stripe.com")


def origin(url: str) -> str:
    """`scheme://host[:port]` of a URL ("" for anything that is not an absolute http(s) URL)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc.lower()}"


def site_origins(*, scheme: str, base_domain: str, port: str) -> list[str]:
    """The root domain and every workspace host under it (custom domains post to themselves: 'self')."""
    suffix = f":{port}" if port else ""
    return [f"{scheme}://{base_domain}{suffix}", f"{scheme}://*.{base_domain}{suffix}"]


def stripe_origins(*, secret_key: str, api_base: str, local_port: int) -> list[str]:
    """Where checkout and the customer portal send the browser: Stripe's hosted pages with a key, else the local
    server's own pages (at STRIPE_API_BASE or 127.0.0.1:STRIPE_LOCAL_PORT, as billing.stripe_client reaches it)."""
    if secret_key:
        return list(STRIPE_HOSTED_ORIGINS)
    return [origin(api_base) or f"http://127.0.0.1:{local_port}"]


def storage_origin(storage: dict[str, Any]) -> str:
    """The origin browsers reach the files at: the S3 endpoint (or its user-content URL) as the storage signs its
    URLs for; "" for the filesystem backend, whose signed URLs are the app's own."""
    options = storage.get("OPTIONS", {})
    if "bucket_name" not in options:
        return ""
    from shared_apps.storage.sigv4 import Endpoint  # noqa: PLC0415  (settings load this module; S3 settings only)

    endpoint = Endpoint.for_bucket(
        endpoint_url=options.get("user_content_url") or options.get("endpoint_url"),
        bucket=options["bucket_name"],
        region=options.get("region_name") or "us-east-1",
        addressing_style=options.get("addressing_style"),
    )
    return f"{endpoint.scheme}://{endpoint.host}"


def policy(*, site: list[str], stripe: list[str], storage: str, report_uri: str = "") -> dict[str, list[str] | str]:
    """django-csp's DIRECTIVES for every page."""
    files = [storage] if storage else []
    directives: dict[str, Any] = {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:", *files],
        "connect-src": [SELF, *files],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF, *site, *stripe],
    }
    if report_uri:
        directives["report-uri"] = report_uri
    return directives


def csp_settings(
    *, directives: dict[str, Any], report_only: bool
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY_REPORT_ONLY): the policy in exactly one of them."""
    config = {"DIRECTIVES": directives}
    return (None, config) if report_only else (config, None)
