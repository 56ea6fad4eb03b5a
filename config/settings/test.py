"""Test settings: `make test`. Fast hashing, in-memory email, and the same routing as production."""

import tempfile
from pathlib import Path

from config.env import env
from config.settings.base import *  # noqa: F403
from config.settings.base import AWS_STORAGE_BUCKET_NAME, BASE_DOMAIN, storage_backend

DEBUG = False
SECRET_KEY = "test-secret-key-not-for-production-0123456789abcdef"  # noqa: S105
ALLOWED_HOSTS = [BASE_DOMAIN, f".{BASE_DOMAIN}", "testserver"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# In-memory for the test process; a browser test's server subprocess writes its mail to files it can read instead.
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.locmem.EmailBackend")
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default="")
SITE_PORT = env.str("SITE_PORT", default="")
LOG_LEVEL = env.str("LOG_LEVEL", default="WARNING")
LOGGING["root"]["level"] = LOG_LEVEL  # noqa: F405
# Files on the filesystem backend in a folder of this process (each test gets its own: tests/conftest.py), unless
# AWS_STORAGE_BUCKET_NAME is set (a browser test's server on the S3 server the tests start on loopback); the storage
# tests run on both backends (tests/storage_fixtures.py).
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default="") or tempfile.mkdtemp(prefix="atrium-test-media-"))
STORAGES = {
    "default": storage_backend()
    if AWS_STORAGE_BUCKET_NAME
    else {"BACKEND": "shared_apps.storage.backends.TenantFileSystemStorage", "OPTIONS": {"location": MEDIA_ROOT}},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
# Routes: each process reads the route feed every 5 s (production: 2 s), so a test's warm-up request and the request
# it counts the queries of never straddle a read; a test server's subprocess still sees other processes' changes.
TENANT_ROUTING_LOCAL_TTL = env.float("TENANT_ROUTING_LOCAL_TTL", default=5.0)
# Tasks run in-process in tests; the real-worker test switches this off for itself.
CELERY_TASK_ALWAYS_EAGER = True
# ... in the committing thread, so that what a test commits has been dispatched and sent when the commit returns.
TASKS_IN_PROCESS_THREADS = 0
# The tests' webhook receivers listen on 127.0.0.1; the SSRF tests switch this off to see refusals.
WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True

# The Content Security Policy names this file's hosts and storage.
CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY_REPORT_ONLY = content_security_policy(  # noqa: F405
    scheme=SITE_SCHEME,  # noqa: F405
    port=SITE_PORT,
    default_storage=STORAGES["default"],
)
IDENTITY_LOOPBACK_IDP_ALLOWED = True  # the suite's OpenID Connect provider runs on loopback

# Streams end quickly in tests (the test client reads a response to its end); the browser tests' server sets more.
LIVE_STREAM_MAX_SECONDS = env.float("LIVE_STREAM_MAX_SECONDS", default=0.3)
# The browser tests' pseudo-locale (tests/e2e/test_i18n.py: accented, a third longer): a catalogue the test session
# generates into this folder, never shipped; its server subprocess offers it as one more language.
PSEUDO_LOCALE_DIR = env.str("ATRIUM_PSEUDO_LOCALE_DIR", default="")
if PSEUDO_LOCALE_DIR:
    LANGUAGES = [*LANGUAGES, ("en-xa", "Pseudo")]  # noqa: F405
    LOCALE_PATHS = [Path(PSEUDO_LOCALE_DIR), *LOCALE_PATHS]  # noqa: F405
