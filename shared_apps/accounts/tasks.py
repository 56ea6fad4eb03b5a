"""Account tasks: the invitation email; purging spent login-handoff tickets."""

from __future__ import annotations

from smtplib import SMTPException
from typing import Any

from allauth.account import app_settings as allauth_settings
from allauth.account.forms import default_token_generator
from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from allauth.account.utils import user_pk_to_url_str
from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils.translation import gettext, gettext_noop

from shared_apps.accounts.handoff import handoff_purge_expired as purge
from shared_apps.accounts.models import User
from shared_apps.accounts.preferences import recipient_locale
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
    inviter = invitation.invited_by
    # The invitee is not a member yet: the mail carries no text the workspace chose (not its name, not its members'
    # names), only the inviter's address; the invitation page names the workspace.
    context = {
        "inviter_email": inviter.email if inviter else "",
        "role": invitation.get_role_display(),
        "email": invitation.email,
        "url": root_url() + public_path("invitation_landing", token=token),
        "expires_at": invitation.expires_at,
        "max_age_days": settings.INVITATION_MAX_AGE_DAYS,
    }
    with recipient_locale(email=invitation.email, workspace_language=invitation.tenant.language):
        who = context["inviter_email"] or gettext("Someone")
        message = EmailMultiAlternatives(
            subject=gettext("%(inviter)s invited you to a workspace on Atrium") % {"inviter": who},
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

    return purge()


@shared_task(name="accounts.email_verification_send", autoretry_for=(SMTPException, OSError), retry_backoff=True)
def email_verification_send(*, user_id: int, email: str) -> bool:
    """Email a link that verifies `email` (one of the account's unverified addresses). The link is minted here, so it
    never travels through the broker. False when there is nothing left to verify."""

    address = EmailAddress.objects.filter(user_id=user_id, email__iexact=email, verified=False).first()
    if address is None:
        return False
    key = EmailConfirmationHMAC(address).key
    context = {
        "email": address.email,
        "url": root_url() + public_path("email_verify", key=key),
        "max_age_days": allauth_settings.EMAIL_CONFIRMATION_EXPIRE_DAYS,
    }
    with recipient_locale(user=address.user):
        message = EmailMultiAlternatives(
            subject=gettext("Verify your email address for Atrium"),
            body=render_to_string("email/verify_email.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[address.email],
        )
        message.attach_alternative(render_to_string("email/verify_email.html", context), "text/html")
    message.send()
    return True


def _send(*, subject: str, template: str, context: dict[str, Any], to: str, user: User | None = None) -> None:
    """One email in its reader's language and time zone (`subject` is the English msgid, translated here)."""
    with recipient_locale(user=user, email=to):
        message = EmailMultiAlternatives(
            subject=gettext(subject),
            body=render_to_string(f"{template}.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[to],
        )
        message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    message.send()


@shared_task(name="accounts.password_reset_send", autoretry_for=(SMTPException, OSError), retry_backoff=True)
def password_reset_send(*, user_id: int) -> bool:
    """Email the account a link to choose a new password (what support sends; nobody else learns the password). The
    link is minted here, so it never travels through the broker. False for an account gone or deactivated."""

    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return False
    path = public_path(
        "account_reset_password_from_key", uidb36=user_pk_to_url_str(user), key=default_token_generator.make_token(user)
    )
    _send(
        subject=gettext_noop("Reset your Atrium password"),
        template="account/email/password_reset_key_message",
        context={"password_reset_url": root_url() + path, "user": user},
        to=user.email,
        user=user,
    )
    return True


@shared_task(name="accounts.email_change_notify", autoretry_for=(SMTPException, OSError), retry_backoff=True)
def email_change_notify(*, old: str, new: str) -> bool:
    """Tell an account's former address that Atrium staff moved the account to `new`."""
    context = {"from_email": old, "to_email": new, "support_email": settings.SUPPORT_EMAIL}
    _send(
        subject=gettext_noop("Your Atrium email address was changed"),
        template="email/email_changed_by_staff",
        context=context,
        to=old,
    )
    return True
