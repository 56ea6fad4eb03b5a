"""Production settings. Refuses to start without the secrets, servers and hosts it needs; passes `check --deploy`
cleanly."""

from django.core.exceptions import ImproperlyConfigured

from config.env import env

# Checked before anything else is imported: base.py would otherwise fall back to the embedded development database,
# and, without REDIS_URL, to the database cache and to no Celery broker. Redis is the cache every process shares (a
# change made by one reaches the others within TENANT_ROUTING_LOCAL_TTL) and the broker tasks are queued on.
# Billing too: without STRIPE_SECRET_KEY the SDK would talk to the development server on loopback, which a production
# host does not run (test keys, sk_test_…, are fine for a staging stack). Files go to S3: on a web host's disk they
# would be neither shared between processes nor kept across deploys.
_REQUIRED = (
    "SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "BASE_DOMAIN",
    "ALLOWED_HOSTS",
    "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "AWS_STORAGE_BUCKET_NAME",
)
_missing = [name for name in _REQUIRED if not env.str(name, "")]
if _missing:
    raise ImproperlyConfigured(
        "Production settings need these environment variables: " + ", ".join(_missing) + " (see docs/deployment.md)."
    )

from config.settings.base import *  # noqa: E402, F403
from config.settings.base import BASE_DOMAIN, CELERY_BROKER_URL  # noqa: E402

# Tasks go to the broker, to be run by the workers; never in the process that enqueued them.
if not CELERY_BROKER_URL:
    raise ImproperlyConfigured(
        "CELERY_BROKER_URL is set but empty: production needs a broker (see docs/deployment.md)."
    )
CELERY_TASK_ALWAYS_EAGER = False
# Outgoing webhooks never reach this network's own addresses in production.
WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False

# Mail is delivered: a provider's API (ANYMAIL_PROVIDER) or SMTP (EMAIL_URL), never the console or a file — unless
# EMAIL_CONSOLE_ALLOWED=true says so out loud (the compose stack on a laptop prints mail in its logs).
from config.email import email_production_check  # noqa: E402

if not env.bool("EMAIL_CONSOLE_ALLOWED", default=False):
    email_production_check(globals())

DEBUG = False
SECRET_KEY = env.str("SECRET_KEY")
# A signing key anyone could know (a template's placeholder, a published default, a short one) signs sessions, password
# resets and handoff tickets anyone could forge: refuse to start with one.
_WEAK_KEY_MARKS = ("insecure", "change-me", "changeme", "change_me", "replace-me", "not-for-production", "example")
if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or any(m in SECRET_KEY.lower() for m in _WEAK_KEY_MARKS):
    raise ImproperlyConfigured(
        "SECRET_KEY looks like a placeholder or is too short: set 50+ random characters, e.g. "
        "python3 -c 'import secrets; print(secrets.token_urlsafe(50))' (see docs/deployment.md)."
    )
# Passwords published in the documentation (the local demo's) are refused for every account.
AUTH_PASSWORD_VALIDATORS = [
    *AUTH_PASSWORD_VALIDATORS,  # noqa: F405
    {"NAME": "shared_apps.accounts.validators.PublishedPasswordValidator"},
]
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
SITE_SCHEME = env.str("SITE_SCHEME", default="https")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# Exact origins only (no wildcard): the root domain. Tenant hosts are same-origin for their own forms.
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[f"https://{BASE_DOMAIN}"])
CONN_MAX_AGE = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_MAX_AGE"] = CONN_MAX_AGE  # noqa: F405
# Connection poolers: DATABASE_POOLING says how DATABASE_URL reaches PostgreSQL — `none` (directly), `session` or
# `transaction` (PgBouncer, RDS Proxy, Supavisor in that mode). Transaction pooling is safe: no tenancy lives in
# connection state (every statement names its schema); it needs DATABASE_DIRECT_URL, PostgreSQL itself, for
# migrate_schemas and advisory locks (the atrium.E003 check refuses to start without it). /readyz reports the mode.
# docs/tenancy.md, "Connection poolers".

STORAGES["staticfiles"] = {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}  # noqa: F405

# The Content Security Policy names this file's hosts and storage.
CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY_REPORT_ONLY = content_security_policy(  # noqa: F405
    scheme=SITE_SCHEME,
    port=SITE_PORT,  # noqa: F405
    default_storage=STORAGES["default"],  # noqa: F405
)
