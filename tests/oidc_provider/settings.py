"""Settings of the loopback OpenID Connect provider (django-oauth-toolkit). Nothing here is Atrium's.

Read from the environment (serve.py documents all variables): OIDC_PROVIDER_DB (the sqlite file),
OIDC_PROVIDER_PORT (fixes the issuer to http://127.0.0.1:<port>/o) and OIDC_PROVIDER_PKCE_REQUIRED ("1" by default).
The RSA key that signs ID tokens is generated when this module is imported: each provider process has its own.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

HERE = Path(__file__).resolve().parent


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _rsa_private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    ).decode("ascii")


PORT = os.environ.get("OIDC_PROVIDER_PORT", "")
DB_PATH = os.environ.get("OIDC_PROVIDER_DB") or str(Path(tempfile.mkdtemp(prefix="oidc-provider-")) / "db.sqlite3")

DEBUG = False
SECRET_KEY = secrets.token_urlsafe(50)
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]
ROOT_URLCONF = "tests.oidc_provider.urls"
WSGI_APPLICATION = "tests.oidc_provider.wsgi.application"
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "oauth2_provider",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [HERE / "templates"],
        "APP_DIRS": True,  # oauth2_provider/authorize.html, the consent form
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
            ]
        },
    }
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": DB_PATH,
        "OPTIONS": {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;",
        },
    }
}

# The test user signs in with a password on every run: keep hashing cheap (client secrets use it too).
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
AUTH_PASSWORD_VALIDATORS: list[dict[str, str]] = []

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/accounts/login/"
STATIC_URL = "/static/"

# Own cookie names: browsers share cookies across ports, so never collide with Atrium's `sessionid` / `csrftoken`.
SESSION_COOKIE_NAME = "oidcp_sessionid"
CSRF_COOKIE_NAME = "oidcp_csrftoken"

OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": _rsa_private_key_pem(),
    # A fixed issuer: the same string in discovery, in every ID token, whatever Host header a client sends.
    "OIDC_ISS_ENDPOINT": f"http://127.0.0.1:{PORT}/o" if PORT else "",
    "OAUTH2_VALIDATOR_CLASS": "tests.oidc_provider.validators.ClaimsValidator",
    "SCOPES": {
        "openid": "OpenID Connect sign-in",
        "email": "Your email address",
        "profile": "Your name",
    },
    "DEFAULT_SCOPES": ["openid"],
    "PKCE_REQUIRED": _flag("OIDC_PROVIDER_PKCE_REQUIRED", True),
    # S256 only: a client that sends `plain` (or nothing, when PKCE is required) is refused.
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    # RFC 8252 loopback rule extended to `localhost`: a registered http://localhost/... callback also matches
    # http://localhost:<any port>/..., so a browser test against an ephemeral port needs no extra registration.
    "ALLOW_LOCALHOST_LOOPBACK": True,
    "ACCESS_TOKEN_EXPIRE_SECONDS": 600,
    "ID_TOKEN_EXPIRE_SECONDS": 600,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["stderr"], "level": "INFO"},
    "loggers": {
        "django.server": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "oauth2_provider": {"handlers": ["stderr"], "level": "DEBUG", "propagate": False},
        "oauthlib": {"handlers": ["stderr"], "level": "DEBUG", "propagate": False},
    },
}
