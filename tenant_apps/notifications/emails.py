"""Notification emails: one message per notification for people who want them at once, with a signed one-click
unsubscribe (RFC 8058: `List-Unsubscribe` with `List-Unsubscribe-Post`) that turns that kind off in that workspace.

The token names the workspace's schema, the person and the kind, signed with the site's secret: it works only on
its own workspace's host, for its own person, and changes nothing else.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext_lazy

from shared_apps.accounts.models import User
from shared_apps.accounts.preferences import recipient_locale
from tenant_apps.notifications.models import Notification, NotificationKind
from tenants.models import Tenant
from tenants.selectors import primary_domain, tenant_url

logger = logging.getLogger(__name__)

SALT = "atrium.notifications.unsubscribe"
PHRASES = {
    NotificationKind.ASSIGNED: gettext_lazy("assigned you"),
    NotificationKind.MENTIONED: gettext_lazy("mentioned you on"),
    NotificationKind.COMMENTED: gettext_lazy("commented on"),
    NotificationKind.INVITATION_ACCEPTED: gettext_lazy("accepted your invitation"),
}


@dataclass(frozen=True)
class Unsubscribe:
    schema: str
    user_id: int
    kind: str


def unsubscribe_token(*, schema: str, user_id: int, kind: str) -> str:
    return signing.dumps({"s": schema, "u": user_id, "k": kind}, salt=SALT, compress=True)


def unsubscribe_read(token: str, *, schema: str) -> Unsubscribe | None:
    """The token's person and kind, if it is genuine and made for this workspace (else None: not found)."""
    try:
        data = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("s") != schema or data.get("k") not in NotificationKind.values:
        return None
    if not isinstance(data.get("u"), int):
        return None
    return Unsubscribe(schema=schema, user_id=data["u"], kind=data["k"])


def notification_emails_send(*, schema: str, notifications: Sequence[Notification]) -> int:
    """Email each notification to its recipient (they asked for it at once); returns how many went."""
    if not notifications:
        return 0
    tenant = Tenant.objects.filter(schema_name=schema).first()
    domain = primary_domain(tenant) if tenant is not None else None
    if tenant is None or domain is None:
        return 0
    base = tenant_url(domain.domain)
    people = {u.pk: u for u in User.objects.filter(pk__in={n.recipient_id for n in notifications}, is_active=True)}
    messages = []
    for n in notifications:
        person = people.get(n.recipient_id)
        if person is None:
            continue
        token = unsubscribe_token(schema=schema, user_id=person.pk, kind=n.kind)
        unsubscribe = base + reverse("notification_unsubscribe", args=[token])
        if n.task_id is not None and n.project_id is not None:
            link = base + reverse("task_detail", args=[n.project_id, n.task_id])
        else:
            link = base + reverse("notifications")
        with recipient_locale(user=person, workspace_language=tenant.language):
            messages.append(_notification_message(tenant, n, person, link=link, unsubscribe=unsubscribe))
    try:
        return int(get_connection().send_messages(messages) or 0)
    except Exception:  # an email that cannot go is logged; the notification is on the page anyway
        logger.exception("could not send notification emails")
        return 0


def _notification_message(
    tenant: Tenant, n: Notification, person: User, *, link: str, unsubscribe: str
) -> EmailMultiAlternatives:
    """One notification's email, rendered in the active language and time zone (the recipient's)."""
    phrase = str(PHRASES.get(NotificationKind(n.kind), ""))
    context = {
        "tenant_name": tenant.name,
        "actor": n.actor_name,
        "phrase": phrase,
        "subject": n.subject,
        "excerpt": n.excerpt,
        "url": link,
        "unsubscribe_url": unsubscribe,
        "kind_label": NotificationKind(n.kind).label,
    }
    title = f"{n.actor_name} {phrase}" + (f" “{n.subject}”" if n.kind != NotificationKind.INVITATION_ACCEPTED else "")
    message = EmailMultiAlternatives(
        subject=f"{tenant.name}: {title}"[:200],
        body=render_to_string("email/notification.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[person.email],
        headers={"List-Unsubscribe": f"<{unsubscribe}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    )
    message.attach_alternative(render_to_string("email/notification.html", context), "text/html")
    return message
