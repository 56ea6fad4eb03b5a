"""Password rules of our own, next to Django's."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# The development credential printed by `make run` and in the README. Anyone can read it, so no account of a real
# deployment may use it: production settings add this validator.
DEMO_PASSWORD = "atrium-demo-password"  # noqa: S105  (published on purpose: the local demo's sign-in)
PUBLISHED_PASSWORDS = frozenset({DEMO_PASSWORD})


class PublishedPasswordValidator:
    """Refuses passwords that are published (the local demo's): known to anyone who read the README."""

    def validate(self, password: str, user: Any = None) -> None:
        if password in PUBLISHED_PASSWORDS:
            raise ValidationError(
                _("This password is published in Atrium's documentation; choose another."), code="password_published"
            )

    def get_help_text(self) -> str:
        return _("Your password can't be one published in Atrium's documentation.")
