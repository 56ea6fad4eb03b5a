"""Production settings refuse to start without their secrets, and pass `check --deploy` cleanly with them."""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from config.email import email_settings

PROD_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "SECRET_KEY": "x" * 20 + "a-long-random-production-secret-key-0123456789",
    "DATABASE_URL": "postgres://atrium@db.internal:5432/atrium",
    "REDIS_URL": "redis://redis.internal:6379/0",
    "STRIPE_SECRET_KEY": "sk_test_production_check",
    "STRIPE_WEBHOOK_SECRET": "whsec_production_check",
    "AWS_STORAGE_BUCKET_NAME": "atrium-media",
    "BASE_DOMAIN": "atrium.example.com",
    "ALLOWED_HOSTS": "atrium.example.com,.atrium.example.com",
    "EMAIL_URL": "smtp+tls://mailer:mail-password@smtp.internal:587",
    "PATH": "/usr/bin:/bin",
}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=settings.BASE_DIR,
        check=False,
        timeout=120,
    )


def test_check_deploy_is_clean_under_production_settings() -> None:
    result = manage("check", "--deploy", "--fail-level", "DEBUG", env=PROD_ENV)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_refuses_to_start_without_its_secrets() -> None:
    env = {k: v for k, v in PROD_ENV.items() if k not in ("SECRET_KEY", "DATABASE_URL")}

    result = manage("check", env=env)

    assert result.returncode != 0
    assert "SECRET_KEY, DATABASE_URL" in result.stderr


def test_production_refuses_to_start_without_redis() -> None:
    env = {k: v for k, v in PROD_ENV.items() if k != "REDIS_URL"}

    result = manage("check", env=env)

    assert result.returncode != 0
    assert "need these environment variables: REDIS_URL" in result.stderr


def test_production_refuses_an_empty_celery_broker() -> None:
    result = manage("check", env={**PROD_ENV, "CELERY_BROKER_URL": ""})

    assert result.returncode != 0
    assert "CELERY_BROKER_URL is set but empty" in result.stderr


def _settings_of(env: dict[str, str], expression: str) -> str:
    result = manage("shell", "-v", "0", "-c", f"from django.conf import settings as s; print({expression})", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip()


def test_production_queues_tasks_on_redis_and_caches_in_redis() -> None:
    seen = _settings_of(
        PROD_ENV, "(s.CELERY_TASK_ALWAYS_EAGER, s.CELERY_BROKER_URL, sorted({c['BACKEND'] for c in s.CACHES.values()}))"
    )

    assert seen == str((False, PROD_ENV["REDIS_URL"], ["shared_apps.core.cache.ResilientRedisCache"]))


def test_only_local_without_a_broker_runs_tasks_eagerly() -> None:
    local = {
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DATABASE_URL": PROD_ENV["DATABASE_URL"],
        "PATH": "/usr/bin:/bin",
    }

    assert _settings_of(local, "s.CELERY_TASK_ALWAYS_EAGER") == "True"
    assert _settings_of({**local, "REDIS_URL": "redis://127.0.0.1:6379/9"}, "s.CELERY_TASK_ALWAYS_EAGER") == "False"


def test_cookies_are_host_only_and_csrf_origins_have_no_wildcard() -> None:
    assert getattr(settings, "SESSION_COOKIE_DOMAIN", None) is None
    assert getattr(settings, "CSRF_COOKIE_DOMAIN", None) is None
    assert not [o for o in settings.CSRF_TRUSTED_ORIGINS if "*" in o]


def test_without_redis_every_process_shares_one_database_cache() -> None:
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DATABASE_URL": "postgres://atrium@db.internal:5432/atrium",
        "PATH": "/usr/bin:/bin",
    }

    seen = _settings_of(env, "{a: (c['BACKEND'], c['LOCATION']) for a, c in s.CACHES.items()}")

    backend = "shared_apps.core.cache.PublicDatabaseCache"  # Django's, naming "public"."<table>" in every statement
    assert seen == str({"default": (backend, "atrium_cache"), "shared": (backend, "atrium_cache_shared")})


def test_production_refuses_a_placeholder_or_short_secret_key() -> None:
    for key in (
        "compose-insecure-secret-key-change-me-0123456789abcdefghijklmnopqrstuvwxyz",  # the old compose default
        "django-insecure-" + "a1b2c3d4e5" * 5,
        "short-but-random-Zq8",
        "a" * 60,
    ):
        result = manage("check", env={**PROD_ENV, "SECRET_KEY": key})

        assert result.returncode != 0, key
        assert "SECRET_KEY looks like a placeholder or is too short" in result.stderr


def test_production_refuses_the_published_demo_password() -> None:
    code = (
        "from django.contrib.auth.password_validation import validate_password as v\n"
        "from django.core.exceptions import ValidationError\n"
        "try:\n    v('atrium-demo-password')\nexcept ValidationError as e:\n    print('refused:', e.messages[0])\n"
    )
    result = manage("shell", "-c", code, env=PROD_ENV)

    assert "refused: This password is published in Atrium's documentation" in result.stdout, result.stderr


def test_production_refuses_to_start_without_stripe_keys() -> None:
    env = {k: v for k, v in PROD_ENV.items() if not k.startswith("STRIPE_")}

    result = manage("check", env=env)

    assert result.returncode != 0
    assert "STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET" in result.stderr


def test_production_keeps_files_in_a_bucket() -> None:
    result = manage("check", env={k: v for k, v in PROD_ENV.items() if k != "AWS_STORAGE_BUCKET_NAME"})

    assert result.returncode != 0
    assert "AWS_STORAGE_BUCKET_NAME" in result.stderr

    seen = _settings_of(PROD_ENV, "(s.STORAGES['default']['BACKEND'], s.STORAGES['default']['OPTIONS']['bucket_name'])")
    assert seen == str(("shared_apps.storage.backends.TenantS3Storage", "atrium-media"))


# ---------------------------------------------------------------------------------------------------------------------
# Email: a provider through django-anymail, SMTP otherwise, the console only in development
# ---------------------------------------------------------------------------------------------------------------------


def test_email_goes_through_anymail_when_a_provider_is_configured() -> None:

    postmark = email_settings({"ANYMAIL_PROVIDER": "Postmark", "POSTMARK_SERVER_TOKEN": "pm-token"})
    mailgun = email_settings(
        {"ANYMAIL_PROVIDER": "mailgun", "MAILGUN_API_KEY": "key-1", "MAILGUN_SENDER_DOMAIN": "mg.example.com"}
    )
    ses = email_settings({"ANYMAIL_PROVIDER": "ses", "AWS_SES_REGION_NAME": "eu-west-1", "EMAIL_URL": "smtp://x"})

    assert postmark["EMAIL_BACKEND"] == "anymail.backends.postmark.EmailBackend"
    assert postmark["ANYMAIL"] == {"POSTMARK_SERVER_TOKEN": "pm-token"}
    assert mailgun["ANYMAIL"] == {"MAILGUN_API_KEY": "key-1", "MAILGUN_SENDER_DOMAIN": "mg.example.com"}
    assert ses["EMAIL_BACKEND"] == "anymail.backends.amazon_ses.EmailBackend"  # the provider wins over EMAIL_URL
    assert ses["ANYMAIL"] == {"AMAZON_SES_CLIENT_PARAMS": {"region_name": "eu-west-1"}}


def test_email_goes_over_smtp_or_to_the_console_without_a_provider() -> None:

    smtp = email_settings({"EMAIL_URL": "smtp+tls://user:pw@smtp.example.com:587"})
    default = email_settings({})

    assert smtp["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (smtp["EMAIL_HOST"], smtp["EMAIL_PORT"], smtp["EMAIL_USE_TLS"]) == ("smtp.example.com", 587, True)
    assert "ANYMAIL" not in smtp
    assert default["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"


def test_an_unknown_provider_or_a_missing_key_is_refused() -> None:

    with pytest.raises(ImproperlyConfigured, match="not one of"):
        email_settings({"ANYMAIL_PROVIDER": "pigeon"})
    with pytest.raises(ImproperlyConfigured, match="needs SENDGRID_API_KEY"):
        email_settings({"ANYMAIL_PROVIDER": "sendgrid"})


def test_production_sends_through_the_configured_provider() -> None:
    env = {**PROD_ENV, "ANYMAIL_PROVIDER": "sendgrid", "SENDGRID_API_KEY": "SG.production-check"}

    seen = _settings_of(env, "(s.EMAIL_BACKEND, s.ANYMAIL)")

    assert seen == str(("anymail.backends.sendgrid.EmailBackend", {"SENDGRID_API_KEY": "SG.production-check"}))


def test_production_refuses_console_email_unless_told_out_loud() -> None:
    env = {**PROD_ENV, "EMAIL_URL": "consolemail://"}

    refused = manage("check", env=env)
    allowed = manage("check", env={**env, "EMAIL_CONSOLE_ALLOWED": "true"})

    assert refused.returncode != 0
    assert "Production needs a real email backend" in refused.stderr
    assert allowed.returncode == 0, allowed.stderr
