"""Writes about passkeys (WebAuthn authenticators) beyond what allauth's own flows do: naming one. Adding and removing
go through allauth (its signals record them in the audit log, shared_apps/accounts/receivers.py)."""

from __future__ import annotations

from allauth.mfa.models import Authenticator
from django.db import transaction
from django.utils.translation import gettext

from shared_apps.accounts.errors import AccountError, NotFound
from shared_apps.accounts.models import User
from shared_apps.accounts.security_log import security_log_targets
from shared_apps.core.text import has_control_characters
from tenant_apps.audit.actions import AuditAction
from tenant_apps.audit.services import audit_record
from tenants.routing import Route

PASSKEY_NAME_MAX_LENGTH = 60


def passkey_name_clean(name: str) -> str:
    """A passkey's name as a person typed it: trimmed, not empty, short, and free of control characters."""
    name = name.strip()
    if not name:
        raise AccountError(gettext("Give the passkey a name, such as the device it lives on."))
    if len(name) > PASSKEY_NAME_MAX_LENGTH:
        raise AccountError(
            gettext("A passkey's name can have at most %(limit)d characters.") % {"limit": PASSKEY_NAME_MAX_LENGTH}
        )
    if has_control_characters(name):
        raise AccountError(gettext("A passkey's name cannot contain line breaks or control characters."))
    return name


@transaction.atomic
def passkey_rename(*, authenticator_id: int, name: str, acting_user: User, route: Route | None) -> Authenticator:
    """Rename one of `acting_user`'s own passkeys; recorded where the change was made (`route`: the workspace host,
    None on the root: every workspace of the person)."""

    name = passkey_name_clean(name)
    authenticator = (
        Authenticator.objects.select_for_update()
        .filter(pk=authenticator_id, user_id=acting_user.pk, type=Authenticator.Type.WEBAUTHN)
        .first()
    )
    if authenticator is None:
        raise NotFound(gettext("This passkey does not exist or is not yours."))
    wrapper = authenticator.wrap()
    old_name = wrapper.name
    if old_name == name:
        return authenticator
    wrapper.name = name
    authenticator.save(update_fields=["data"])
    metadata = {"type": "webauthn", "from": old_name, "to": name, "host": route.host if route else ""}
    for target in security_log_targets(route=route, user=acting_user):
        audit_record(
            tenant=target,
            action=AuditAction.MFA_AUTHENTICATOR_RENAMED,
            actor=acting_user,
            target=acting_user,
            metadata=metadata,
        )
    return authenticator
