"""Errors a person (or a SCIM client) can hit here; each carries a human message."""

from __future__ import annotations

from shared_apps.core.errors import ApplicationError


class IdentityError(ApplicationError):
    """Input a person can correct; `field` names the form field it belongs to."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message, extra={"field": field})
        self.field = field


class NotFound(IdentityError):
    """Missing, or another workspace's: the two look the same from outside."""
