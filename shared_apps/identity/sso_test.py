""" "Test connection": an admin on the workspace's host asks for a test sign-in through the workspace's identity
provider. The host hands the root a signed ticket (ten minutes); the root's session then remembers which connection is
under test, and the sign-in that comes back through it stops at a page of what the IdP sent (adapter.test_result):
no account, membership or session is made."""

from __future__ import annotations

from typing import Any

from django.core import signing

from shared_apps.identity.models import SsoConnection

SALT = "identity.sso_test"
SESSION_KEY = "identity_sso_test"
TICKET_MAX_AGE_S = 600


def test_ticket_make(*, connection: SsoConnection, user_id: int) -> str:
    return signing.dumps({"c": connection.pk, "k": connection.provider_key, "u": user_id}, salt=SALT)


def test_ticket_read(ticket: str) -> SsoConnection | None:
    """The connection a ticket was made for, if the ticket is genuine, fresh, and the connection unchanged."""
    try:
        data = signing.loads(ticket[:500], salt=SALT, max_age=TICKET_MAX_AGE_S)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("c"), int):
        return None
    return (
        SsoConnection.objects.select_related("tenant")
        .filter(pk=data["c"], provider_key=str(data.get("k", "")), enabled=True)
        .first()
    )


def test_begin(request: Any, connection: SsoConnection) -> None:
    request.session[SESSION_KEY] = connection.provider_id


def test_pending(request: Any, connection: SsoConnection) -> bool:
    """This sign-in is the test of `connection` (the mark is used up)."""
    session = getattr(request, "session", None)
    if session is None or session.get(SESSION_KEY) != connection.provider_id:
        return False
    del session[SESSION_KEY]
    return True
