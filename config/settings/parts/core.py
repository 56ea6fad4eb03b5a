"""The Django core: debug, secret key, the platform's hosts, languages and time, security headers, templates, static
files. Session and CSRF cookies are host-only (no *_COOKIE_DOMAIN), CSRF_TRUSTED_ORIGINS has no wildcard."""

from __future__ import annotations

from typing import Any

from config.env import BASE_DIR, env

DEBUG = env.bool("DEBUG", default=False)
# With DEBUG on, Django's technical 404/500 pages instead of the branded ones (one request: add ?technical=1).
TECHNICAL_ERROR_PAGES = env.bool("TECHNICAL_ERROR_PAGES", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")

# The root domain of the platform: the public site lives on it, tenants on <slug>.<BASE_DOMAIN>.
BASE_DOMAIN: str = env.str("BASE_DOMAIN", default="localhost").lower().strip(".")
# Scheme and port used when building absolute links between hosts (handoffs, emails, the 404 page).
SITE_SCHEME: str = env.str("SITE_SCHEME", default="http")
SITE_PORT: str = env.str("SITE_PORT", default="")

ALLOWED_HOSTS: list[str] = env.list("ALLOWED_HOSTS", default=[BASE_DOMAIN, f".{BASE_DOMAIN}"])


LANGUAGE_CODE = "en"
# English is the source language; each other language has complete catalogues under locale/ (docs/i18n.md).
LANGUAGES: list[tuple[str, str]] = [("en", "English"), ("de", "Deutsch"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# One date and time format per language (config/formats/<lang>/formats.py); times in the reader's time zone.
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# A visitor's choice from the footer switcher holds on the root domain and every workspace host under it. It only names
# a language, so unlike the session and CSRF cookies it may be shared with subdomains.
LANGUAGE_COOKIE_NAME = "atrium_language"
LANGUAGE_COOKIE_DOMAIN: str | None = BASE_DOMAIN if "." in BASE_DOMAIN else None
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600


SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"


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


STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / ".data" / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
