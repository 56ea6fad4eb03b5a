"""Content Security Policy (django-csp; config/csp.py): the app's own origin for everything, no inline script or style,
never framed; forms may go to the root, the workspace hosts and Stripe's pages; uploads and thumbnails reach the
storage endpoint. CSP_REPORT_ONLY=1 sends the same policy as Content-Security-Policy-Report-Only instead (to try a
change on real traffic); CSP_REPORT_URI, when set, is where browsers report violations."""

from __future__ import annotations

from typing import Any

from config.env import env
from config.settings.parts.billing import STRIPE_API_BASE, STRIPE_LOCAL_PORT, STRIPE_SECRET_KEY
from config.settings.parts.core import BASE_DOMAIN, SITE_PORT, SITE_SCHEME
from config.settings.parts.files import STORAGES


def content_security_policy(
    *, scheme: str, port: str, default_storage: dict[str, Any]
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY_REPORT_ONLY) for these settings. A settings module that
    changes SITE_SCHEME, SITE_PORT or the default storage calls it again with its own values."""
    from config import csp  # noqa: PLC0415  (only when a settings module asks for its policy)

    directives = csp.policy(
        site=csp.site_origins(scheme=scheme, base_domain=BASE_DOMAIN, port=port),
        stripe=csp.stripe_origins(secret_key=STRIPE_SECRET_KEY, api_base=STRIPE_API_BASE, local_port=STRIPE_LOCAL_PORT),
        storage=csp.storage_origin(default_storage),
        report_uri=env.str("CSP_REPORT_URI", default=""),
    )
    # Read here, not kept as settings: django-csp takes CSP_* settings for its 3.x configuration.
    return csp.csp_settings(directives=directives, report_only=env.bool("CSP_REPORT_ONLY", default=False))


CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY_REPORT_ONLY = content_security_policy(
    scheme=SITE_SCHEME, port=SITE_PORT, default_storage=STORAGES["default"]
)
