"""Errors a person can hit while managing accounts, members and invitations. Each carries a human message."""

from __future__ import annotations

from shared_apps.core.errors import ApplicationError


class AccountError(ApplicationError):
    """Something about accounts or memberships that cannot be done as asked (the message says why)."""


class NotFound(AccountError):
    """Missing, or in another workspace: the two look the same from outside."""


class LastOwner(AccountError):
    """The workspace would be left without an owner."""


class SeatLimitReached(AccountError):
    """More seats than the plan has: members and pending invitations both hold one."""


class InvitationUnusable(AccountError):
    """An invitation link that cannot be used: unknown, expired, revoked, already used, or for another address."""

    def __init__(self, message: str, *, reason: str, status: int) -> None:
        super().__init__(message, extra={"reason": reason})
        self.reason = reason
        self.status = status
