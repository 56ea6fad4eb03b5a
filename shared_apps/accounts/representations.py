"""People, members and invitations as the API shows them: the API's serializers render with these functions, and the
event stream records the same shapes (`member.*`, `invitation.*` events), so a webhook receiver reads what the API
answers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from shared_apps.accounts.models import Invitation, Membership, User


def moment(value: dt.datetime | None) -> str | None:
    """A datetime as DRF renders it (ISO 8601, UTC as Z)."""
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def day(value: dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def person(user: User | None) -> dict[str, Any] | None:
    return {"id": user.pk, "name": user.name, "email": user.email} if user is not None else None


def member_data(membership: Membership, *, mfa_enabled: bool | None = None) -> dict[str, Any]:
    """A membership; `mfa_enabled` is shown to owners and admins only (None otherwise, and in events)."""
    return {
        "id": membership.pk,
        "user": person(membership.user),
        "role": membership.role,
        "joined_at": moment(membership.created_at),
        "mfa_enabled": mfa_enabled,
    }


def invitation_data(invitation: Invitation) -> dict[str, Any]:
    return {
        "id": invitation.pk,
        "email": invitation.email,
        "role": invitation.role,
        "status": str(invitation.status),
        "invited_by": person(invitation.invited_by),
        "created_at": moment(invitation.created_at),
        "expires_at": moment(invitation.expires_at),
        "sent": invitation.sent_at is not None,
    }
