"""Which email backend the settings use, chosen from the environment:

1. `ANYMAIL_PROVIDER` (postmark, sendgrid, mailgun, ses, …): django-anymail's backend for that provider's HTTP API,
   with its credentials from the provider's own variable (`POSTMARK_SERVER_TOKEN`, `SENDGRID_API_KEY`,
   `MAILGUN_API_KEY`, …; SES uses the AWS credentials boto3 finds). Delivery and bounce webhooks stay the provider's.
2. Else `EMAIL_URL`: SMTP (`smtp+tls://user:password@host:587`), or, in development, `consolemail://` (the default:
   printed on the console) or `filemail:///path`.

`production.py` refuses a configuration that would not deliver mail: an unknown provider, a provider without its key,
or a console, file or in-memory backend.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class Provider:
    backend: str
    credentials: dict[str, str]  # ANYMAIL setting → environment variable (required)
    optional: dict[str, str]  # ANYMAIL setting → environment variable (optional)


PROVIDERS: dict[str, Provider] = {
    "postmark": Provider(
        "anymail.backends.postmark.EmailBackend", {"POSTMARK_SERVER_TOKEN": "POSTMARK_SERVER_TOKEN"}, {}
    ),
    "sendgrid": Provider("anymail.backends.sendgrid.EmailBackend", {"SENDGRID_API_KEY": "SENDGRID_API_KEY"}, {}),
    "mailgun": Provider(
        "anymail.backends.mailgun.EmailBackend",
        {"MAILGUN_API_KEY": "MAILGUN_API_KEY"},
        {"MAILGUN_SENDER_DOMAIN": "MAILGUN_SENDER_DOMAIN", "MAILGUN_API_URL": "MAILGUN_API_URL"},
    ),
    "ses": Provider("anymail.backends.amazon_ses.EmailBackend", {}, {}),
    "brevo": Provider("anymail.backends.brevo.EmailBackend", {"BREVO_API_KEY": "BREVO_API_KEY"}, {}),
    "resend": Provider("anymail.backends.resend.EmailBackend", {"RESEND_API_KEY": "RESEND_API_KEY"}, {}),
}
NOT_DELIVERING = (
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
)


def email_settings(environ_: Mapping[str, str]) -> dict[str, Any]:
    """The email settings (EMAIL_BACKEND, ANYMAIL or EMAIL_HOST…) for these environment variables."""
    provider_name = environ_.get("ANYMAIL_PROVIDER", "").strip().lower()
    if provider_name:
        provider = PROVIDERS.get(provider_name)
        if provider is None:
            raise ImproperlyConfigured(
                f"ANYMAIL_PROVIDER={provider_name!r} is not one of {', '.join(sorted(PROVIDERS))} "
                "(see docs/deployment.md)."
            )
        missing = [var for var in provider.credentials.values() if not environ_.get(var)]
        if missing:
            raise ImproperlyConfigured(
                f"ANYMAIL_PROVIDER={provider_name} needs {', '.join(missing)} (see docs/deployment.md)."
            )
        anymail = {name: environ_[var] for name, var in provider.credentials.items()}
        anymail |= {name: environ_[var] for name, var in provider.optional.items() if environ_.get(var)}
        if provider_name == "ses" and environ_.get("AWS_SES_REGION_NAME"):
            anymail["AMAZON_SES_CLIENT_PARAMS"] = {"region_name": environ_["AWS_SES_REGION_NAME"]}  # type: ignore[assignment]
        return {"EMAIL_BACKEND": provider.backend, "ANYMAIL": anymail, "EMAIL_PROVIDER": provider_name}
    url = environ_.get("EMAIL_URL", "") or "consolemail://"
    config = dict(environ.Env.email_url_config(url))
    return {**config, "EMAIL_PROVIDER": ""}


def email_production_check(config: Mapping[str, Any]) -> None:
    """Production delivers mail: refuse a console, file or in-memory backend."""
    if config.get("EMAIL_BACKEND") in NOT_DELIVERING:
        raise ImproperlyConfigured(
            "Production needs a real email backend: set ANYMAIL_PROVIDER (+ its key) or EMAIL_URL=smtp+tls://… "
            "(see docs/deployment.md, Configuration)."
        )
