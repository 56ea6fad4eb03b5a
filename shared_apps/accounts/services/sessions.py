"""Ending sessions: everywhere, or everywhere but here."""

from __future__ import annotations

from allauth.usersessions.models import UserSession

from shared_apps.accounts.models import User
from tenant_apps.audit.actions import AuditAction
from tenant_apps.audit.services import audit_record
from tenants.models import Tenant


def sessions_end_all(*, user: User) -> int:
    """Sign the account out everywhere: every session on every host ends now. Returns how many ended."""

    sessions = list(UserSession.objects.filter(user=user))
    for session in sessions:
        session.end()
    return len(sessions)


def sessions_end_others(*, user: User, current_session_key: str | None, tenant: Tenant | None = None) -> int:
    """End every session of the account except the one making the request. Returns how many ended."""

    sessions = list(UserSession.objects.filter(user=user).exclude(session_key=current_session_key or ""))
    for session in sessions:
        session.end()
    if tenant is not None:
        audit_record(
            tenant=tenant,
            action=AuditAction.AUTH_SESSIONS_ENDED,
            actor=user,
            target=user,
            metadata={"count": len(sessions)},
        )
    return len(sessions)
