"""The middleware, in order: health and TLS checks before routing, routing, sessions and membership, the workspace's
status gate last."""

from __future__ import annotations

MIDDLEWARE: list[str] = [
    "shared_apps.core.health.HealthCheckMiddleware",  # /healthz and /readyz answer on any host, before routing
    "tenants.tls.TlsAskMiddleware",  # /internal/tls-allowed?domain=: the proxy's on-demand TLS question, any host
    # X-Request-ID, client IP and user agent: on every log line and audit entry, and the request id on the response
    "shared_apps.core.context.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",  # Content-Security-Policy on every page (config/csp.py; "Content Security Policy")
    # Before routing, so the pages routing answers itself (unknown host, renamed-away host) carry it too.
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "tenants.middleware.TenantRoutingMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The visitor's language (the switcher's cookie, then Accept-Language); after routing, which picks the URLconf, and
    # the session, before anything that renders. URLs carry no language prefix.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The person's language (else the workspace's default) and time zone, over what LocaleMiddleware chose.
    "shared_apps.accounts.preferences.PreferencesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # An operator signed in as a member: time limit, banner, read-only unless stepped up, no account pages.
    "shared_apps.operators.middleware.ImpersonationMiddleware",
    "shared_apps.accounts.middleware.TenantMembershipMiddleware",  # session bound to its host; members only
    # The workspace's sign-in policy: session lifetime, two-factor required
    "shared_apps.identity.middleware.WorkspacePolicyMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    "tenants.middleware.TenantStatusMiddleware",
    # With DEBUG on (`make run`): the branded 404/500 pages unless TECHNICAL_ERROR_PAGES or ?technical=1 asks for
    # Django's technical ones. Last, so it is the first to see a view's exception.
    "shared_apps.core.errorpages.BrandedErrorPagesMiddleware",
]
