"""Email: django-anymail when ANYMAIL_PROVIDER is set (postmark, sendgrid, mailgun, ses, … + its key), else EMAIL_URL
(SMTP, or the console in development): config/email.py."""

from __future__ import annotations

import os

from config.email import email_settings
from config.env import env

EMAIL_URL: str = env.str("EMAIL_URL", default="consolemail://")
vars().update(email_settings(os.environ))
DEFAULT_FROM_EMAIL: str = env.str("DEFAULT_FROM_EMAIL", default="Atrium <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Where people write when a page tells them to contact support (suspension pages, refusals).
SUPPORT_EMAIL: str = env.str("SUPPORT_EMAIL", default="support@localhost")
