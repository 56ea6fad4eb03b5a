"""Security events into the audit log: sign-ins, MFA changes, password and email changes.

Where an event lands:
- on a workspace host, in that workspace's log only (and only if the person is a member there);
- on the root domain, sign-ins are not recorded here: the handoff that carries the person into a workspace is
  (`auth.handoff`, written by the handoff view). Account-wide changes made on the root (MFA, password, email) land in
  the log of every workspace the person belongs to, since each workspace's admins answer for its members' security.

A failure to record is logged and never breaks the sign-in or the change itself.
"""

from __future__ import annotations

import logging
from typing import Any

from allauth.account import signals as account_signals
from allauth.mfa import signals as mfa_signals
from django.contrib.auth.signals import user_logged_in
from django.db import DatabaseError, transaction
from django.dispatch import receiver
from django.http import HttpRequest

from shared_apps.accounts.models import User
from shared_apps.accounts.security_log import is_member, request_host, security_log_targets, workspace_route
from tenant_apps.audit.actions import AuditAction
from tenant_apps.audit.services import HasSchema, audit_record
from tenants.links import workspace_path

logger = logging.getLogger(__name__)


def _record(tenants: list[HasSchema], *, action: AuditAction, user: User, metadata: dict[str, Any]) -> None:
    for tenant in tenants:
        try:
            with transaction.atomic():
                audit_record(tenant=tenant, action=action, actor=user, target=user, metadata=metadata)
        except DatabaseError:
            logger.exception("could not record a security event", extra={"action": action})


def _security_event(action: AuditAction, request: HttpRequest | None, user: Any, **metadata: Any) -> None:
    if user is None or not getattr(user, "pk", None):
        return
    targets = security_log_targets(route=workspace_route(request), user=user)
    if targets:
        _record(targets, action=action, user=user, metadata={**metadata, "host": request_host(request)})


@receiver(user_logged_in, dispatch_uid="atrium.audit.login")
def on_login(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    route = workspace_route(request)
    if route is None or request is None or request.path.startswith(workspace_path("handoff_consume")):
        return  # root sign-ins are recorded when the handoff arrives; the handoff view records itself
    if is_member(route, user):
        _record([route], action=AuditAction.AUTH_LOGIN, user=user, metadata={"host": request_host(request)})


@receiver(mfa_signals.authenticator_added, dispatch_uid="atrium.audit.mfa_added")
def on_authenticator_added(sender: Any, request: HttpRequest | None, user: User, authenticator: Any, **kw: Any) -> None:
    _security_event(AuditAction.MFA_AUTHENTICATOR_ADDED, request, user, type=str(authenticator.type))


@receiver(mfa_signals.authenticator_removed, dispatch_uid="atrium.audit.mfa_removed")
def on_authenticator_removed(
    sender: Any, request: HttpRequest | None, user: User, authenticator: Any, **kw: Any
) -> None:
    _security_event(AuditAction.MFA_AUTHENTICATOR_REMOVED, request, user, type=str(authenticator.type))


@receiver(mfa_signals.authenticator_reset, dispatch_uid="atrium.audit.mfa_reset")
def on_authenticator_reset(sender: Any, request: HttpRequest | None, user: User, authenticator: Any, **kw: Any) -> None:
    _security_event(AuditAction.MFA_RECOVERY_CODES_REGENERATED, request, user, type=str(authenticator.type))


@receiver(account_signals.password_changed, dispatch_uid="atrium.audit.password_changed")
def on_password_changed(sender: Any, request: HttpRequest | None, user: User, **kw: Any) -> None:
    _security_event(AuditAction.ACCOUNT_PASSWORD_CHANGED, request, user)


@receiver(account_signals.password_set, dispatch_uid="atrium.audit.password_set")
def on_password_set(sender: Any, request: HttpRequest | None, user: User, **kw: Any) -> None:
    _security_event(AuditAction.ACCOUNT_PASSWORD_SET, request, user)


@receiver(account_signals.password_reset, dispatch_uid="atrium.audit.password_reset")
def on_password_reset(sender: Any, request: HttpRequest | None, user: User, **kw: Any) -> None:
    _security_event(AuditAction.ACCOUNT_PASSWORD_RESET, request, user)


@receiver(account_signals.email_added, dispatch_uid="atrium.audit.email_added")
def on_email_added(sender: Any, request: HttpRequest | None, user: User, email_address: Any, **kw: Any) -> None:
    _security_event(AuditAction.ACCOUNT_EMAIL_ADDED, request, user, email=email_address.email)


@receiver(account_signals.email_removed, dispatch_uid="atrium.audit.email_removed")
def on_email_removed(sender: Any, request: HttpRequest | None, user: User, email_address: Any, **kw: Any) -> None:
    _security_event(AuditAction.ACCOUNT_EMAIL_REMOVED, request, user, email=email_address.email)


@receiver(account_signals.email_changed, dispatch_uid="atrium.audit.email_changed")
def on_email_changed(
    sender: Any, request: HttpRequest | None, user: User, from_email_address: Any, to_email_address: Any, **kw: Any
) -> None:
    _security_event(
        AuditAction.ACCOUNT_EMAIL_CHANGED,
        request,
        user,
        from_email=getattr(from_email_address, "email", ""),
        to_email=getattr(to_email_address, "email", ""),
    )
