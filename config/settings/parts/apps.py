"""Applications: which schema each app lives in is decided here, once (docs/architecture.md, "Where each app lives")."""

from __future__ import annotations

SHARED_APPS: list[str] = [
    "django_tenants",  # must come first
    "tenants",
    # contenttypes and auth live in the public schema only: content-type and permission ids are global, so a
    # tenant-schema row that points at one (guardian) can never be read against another schema's numbering.
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",  # sessions are global; each one records the tenant it was made for
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # The operators' superadmin, root domain only: Django's admin with Atrium's site (dashboard as its index, staff
    # with two-factor authentication only).
    "shared_apps.operators.admin_config.OperatorsAdminConfig",
    "django_htmx",
    "shared_apps.core",
    "shared_apps.storage",  # files: usage, reservations and purges per workspace prefix
    "shared_apps.web",
    "shared_apps.accounts",
    "shared_apps.workspaces",
    "shared_apps.identity",  # verified domains, sign-in policies, SCIM tokens and provisioned people (public schema)
    # allauth lives in the public schema: one login, one OAuth callback URL per provider, rate limits on global keys.
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.google",
    "allauth.socialaccount.providers.github",
    "allauth.socialaccount.providers.microsoft",
    "allauth.socialaccount.providers.openid_connect",
    "allauth.socialaccount.providers.saml",
    "allauth.mfa",
    "allauth.usersessions",
    "shared_apps.signup",
    # The operators' console (the root domain's admin, its dashboard and commands): every model's admin lives here.
    "shared_apps.operators",
    "billing",
    # The API (tenant_apps/api, served on workspace hosts; no models of its own): DRF, filters, the OpenAPI schema and
    # the docs page's files (served from here, never a CDN).
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
]

TENANT_APPS: list[str] = [
    # guardian's object permissions live in each tenant's schema: object_pk "42" can only mean a row of this tenant.
    "guardian",
    "tenant_apps.audit",
    "tenant_apps.projects",
    "tenant_apps.webhooks",
    "tenant_apps.notifications",
    "tenant_apps.live",
    "tenant_apps.activity",
    "tenant_apps.onboarding",
]

INSTALLED_APPS: list[str] = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]
