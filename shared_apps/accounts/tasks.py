"""Account tasks: the invitation email; purging spent login-handoff tickets."""

from __future__ import annotations

from smtplib import SMTPException
from typing import Any

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from shared_apps.accounts.services import invitation_mark_sent, invitation_token_issue
from shared_apps.core.effects import effect_done, effect_once
from tenants.links import public_path
from tenants.selectors import root_url


@shared_task(
    bind=True,
    name="accounts.invitation_send",
    autoretry_for=(SMTPException, OSError),
    retry_backoff=True,
    max_retries=5,
)
def invitation_send(self: Any, *, invitation_id: int) -> bool:
    """Email an invitation with a freshly minted link. The token is made here and exists only in the email (the
    database keeps its hash), so it never travels through the broker. False when the invitation is no longer open.

    One message, one email: the same message run again (redelivered after its worker died, or retried after the email
    went out) sends nothing. A resend is a new message, and a new email."""
    effect = f"accounts.invitation_send:{self.request.id or invitation_id}"
    if effect_done(effect):
        return False
    issued = invitation_token_issue(invitation_id=invitation_id)
    if issued is None:
        return False
    invitation, token = issued
    tenant = invitation.tenant
    inviter = invitation.invited_by
    context = {
        "tenant_name": tenant.name,
        "inviter_name": inviter.name.strip() if inviter else "",
        "inviter_email": inviter.email if inviter else "",
        "role": invitation.get_role_display(),
        "email": invitation.email,
        "url": root_url() + public_path("invitation_landing", token=token),
        "expires_at": invitation.expires_at,
        "max_age_days": settings.INVITATION_MAX_AGE_DAYS,
    }
    who = context["inviter_name"] or context["inviter_email"] or "Someone"
    message = EmailMultiAlternatives(
        subject=f"{who} invited you to join {tenant.name} on Atrium",
        body=render_to_string("email/invitation.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[invitation.email],
    )
    message.attach_alternative(render_to_string("email/invitation.html", context), "text/html")
    effect_once(effect, message.send)
    invitation_mark_sent(invitation=invitation)
    return True


@shared_task(name="accounts.handoff_purge_expired")
def handoff_purge_expired() -> int:
    """Delete login-handoff tickets well past their expiry (beat); they are single-use and live seconds anyway."""
    from shared_apps.accounts.handoff import handoff_purge_expired as purge

    return purge()


@shared_task(name="accounts.email_verification_send", autoretry_for=(SMTPException, OSError), retry_backoff=True)
def email_verification_send(*, user_id: int, email: str) -> bool:
    """Email a link that verifies `email` (one of the account's unverified addresses). The link is minted here, so it
    never travels through the broker. False when there is nothing left to verify."""
    from allauth.account import app_settings as allauth_settings
    from allauth.account.models import EmailAddress, EmailConfirmationHMAC

    address = EmailAddress.objects.filter(user_id=user_id, email__iexact=email, verified=False).first()
    if address is None:
        return False
    key = EmailConfirmationHMAC(address).key
    context = {
        "email": address.email,
        "url": root_url() + public_path("email_verify", key=key),
        "max_age_days": allauth_settings.EMAIL_CONFIRMATION_EXPIRE_DAYS,
    }
    message = EmailMultiAlternatives(
        subject="Verify your email address for Atrium",
        body=render_to_string("email/verify_email.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[address.email],
    )
    message.attach_alternative(render_to_string("email/verify_email.html", context), "text/html")
    message.send()
    return True
