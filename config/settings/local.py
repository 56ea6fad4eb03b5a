"""Development settings: `make run`. Embedded PostgreSQL unless DATABASE_URL is set; without REDIS_URL, the database
cache and eager tasks."""

from config.env import env
from config.settings.base import *  # noqa: F403
from config.settings.base import BASE_DOMAIN, CELERY_BROKER_URL

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="dev-insecure-secret-key-change-me-0123456789abcdef")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[BASE_DOMAIN, f".{BASE_DOMAIN}", "127.0.0.1"])
SITE_PORT = env.str("SITE_PORT", default="8000")

# Email: unless EMAIL_URL or a provider says otherwise, one line per message on the console and the message itself in
# .data/mail/.
if not env.str("EMAIL_URL", default="") and not env.str("ANYMAIL_PROVIDER", default=""):
    EMAIL_BACKEND = "shared_apps.core.mail.SummaryEmailBackend"
    EMAIL_FILE_PATH = str(BASE_DIR / ".data" / "mail")  # noqa: F405

# Serve static files straight from static/ (no collectstatic in development).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405

# Without a broker (no REDIS_URL) tasks run in-process, as they are enqueued.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL

# Without a broker nothing runs later: push seat changes to Stripe at once instead of after a quiet period.
BILLING_SEAT_SYNC_DEBOUNCE = env.int("BILLING_SEAT_SYNC_DEBOUNCE", default=0 if CELERY_TASK_ALWAYS_EAGER else 10)

# The Content Security Policy names this file's hosts and storage.
CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY_REPORT_ONLY = content_security_policy(  # noqa: F405
    scheme=SITE_SCHEME,  # noqa: F405
    port=SITE_PORT,
    default_storage=STORAGES["default"],  # noqa: F405
)

# The development console shows what a developer reads (requests, warnings, the mail summary): the Stripe SDK's
# request lines, in-process task traces and the broker's notices stay below WARNING unless LOG_LEVEL asks for them.
if env.str("LOG_LEVEL", default="") == "":
    for _quiet in ("stripe", "celery.app.trace", "kombu", "django.utils.autoreload"):
        LOGGING["loggers"][_quiet] = {"level": "WARNING"}  # noqa: F405
# Webhook endpoints on this machine (http://127.0.0.1:…) are allowed in development.
WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = env.bool("WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", default=True)
IDENTITY_LOOPBACK_IDP_ALLOWED = True  # an identity provider on this machine
