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
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, gettext_lazy

from shared_apps.accounts.models import User
from shared_apps.accounts.preferences import recipient_locale
from tenant_apps.notifications.models import Notification, NotificationKind
from tenants.models import Tenant
from tenants.selectors import primary_domain, tenant_url

logger = logging.getLogger(__name__)

SALT = "atrium.notifications.unsubscribe"
# What happened, as one sentence per kind, so that a translation puts the person and the task where its language
# wants them: %(actor)s who did it, %(subject)s the task (quoted in text, a link on the page).
SENTENCES = {
    NotificationKind.ASSIGNED: gettext_lazy("%(actor)s assigned you %(subject)s"),
    NotificationKind.MENTIONED: gettext_lazy("%(actor)s mentioned you on %(subject)s"),
    NotificationKind.COMMENTED: gettext_lazy("%(actor)s commented on %(subject)s"),
    NotificationKind.INVITATION_ACCEPTED: gettext_lazy("%(actor)s accepted your invitation"),
    NotificationKind.DUE_TOMORROW: gettext_lazy("%(subject)s is due tomorrow"),
}
# The digest's own unsubscribe: every kind the person hears of daily goes off at once.
DIGEST = "digest"


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
    if not isinstance(data, dict) or data.get("s") != schema or data.get("k") not in [*NotificationKind.values, DIGEST]:
        return None
    if not isinstance(data.get("u"), int):
        return None
    return Unsubscribe(schema=schema, user_id=data["u"], kind=data["k"])


def headline(n: Notification) -> str:
    """One line saying what happened: "Ann assigned you “Print the posters”", "“Print the posters” is due tomorrow"."""
    sentence = str(SENTENCES[NotificationKind(n.kind)])  # in the active language (the recipient's)
    return sentence % {"actor": n.actor_name, "subject": f"“{n.subject}”"}


def headline_html(n: Notification, url: str) -> SafeString:
    """The headline as the notifications page shows it: the person in bold, the task a link (both escaped)."""
    sentence = str(SENTENCES[NotificationKind(n.kind)])
    parts = {
        "actor": format_html("<strong>{}</strong>", n.actor_name),
        "subject": format_html('<a href="{}">{}</a>', url, n.subject),
    }
    return mark_safe(sentence % parts)  # noqa: S308 (the parts are escaped, the sentence is the catalogue's)


def _workspace(schema: str) -> tuple[Tenant, str] | None:
    """The workspace of `schema` and its address (None: gone, or no domain to link to)."""
    tenant = Tenant.objects.filter(schema_name=schema).first()
    domain = primary_domain(tenant) if tenant is not None else None
    if tenant is None or domain is None:
        return None
    return tenant, tenant_url(domain.domain)


def _link(base: str, n: Notification) -> str:
    if n.task_id is not None and n.project_id is not None:
        return base + reverse("task_detail", args=[n.project_id, n.task_id])
    return base + reverse("notifications")


def _send(messages: list[EmailMultiAlternatives]) -> int:
    try:
        return int(get_connection().send_messages(messages) or 0)
    except Exception:  # an email that cannot go is logged; the notification is on the page anyway
        logger.exception("could not send notification emails")
        return 0


def digest_email_send(*, schema: str, digests: dict[int, list[Notification]], totals: dict[int, int]) -> int:
    """One digest email to each person of `digests` (their notifications of the day, newest first; `totals`: how many
    there were in all); returns how many went."""
    found = _workspace(schema)
    if found is None or not digests:
        return 0
    tenant, base = found
    people = User.objects.filter(pk__in=list(digests), is_active=True)
    messages = []
    for person in people:
        items = digests[person.pk]
        token = unsubscribe_token(schema=schema, user_id=person.pk, kind=DIGEST)
        unsubscribe = base + reverse("notification_unsubscribe", args=[token])
        count = totals.get(person.pk, len(items))
        with recipient_locale(user=person, workspace_language=tenant.language):
            context = {
                "tenant_name": tenant.name,
                "items": [{"headline": headline(n), "excerpt": n.excerpt, "url": _link(base, n)} for n in items],
                "more": count - len(items),
                "url": base + reverse("notifications"),
                "unsubscribe_url": unsubscribe,
            }
            subject = gettext("%(name)s: your daily digest (%(count)s new)") % {"name": tenant.name, "count": count}
            message = EmailMultiAlternatives(
                subject=subject[:200],
                body=render_to_string("email/notification_digest.txt", context),
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=[person.email],
                headers={
                    "List-Unsubscribe": f"<{unsubscribe}>",
                    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                },
            )
            message.attach_alternative(render_to_string("email/notification_digest.html", context), "text/html")
        messages.append(message)
    return _send(messages)


def notification_emails_send(*, schema: str, notifications: Sequence[Notification]) -> int:
    """Email each notification to its recipient (they asked for it at once); returns how many went."""
    if not notifications:
        return 0
    found = _workspace(schema)
    if found is None:
        return 0
    tenant, base = found
    people = {u.pk: u for u in User.objects.filter(pk__in={n.recipient_id for n in notifications}, is_active=True)}
    messages = []
    for n in notifications:
        person = people.get(n.recipient_id)
        if person is None:
            continue
        token = unsubscribe_token(schema=schema, user_id=person.pk, kind=n.kind)
        unsubscribe = base + reverse("notification_unsubscribe", args=[token])
        link = _link(base, n)
        with recipient_locale(user=person, workspace_language=tenant.language):
            messages.append(_notification_message(tenant, n, person, link=link, unsubscribe=unsubscribe))
    return _send(messages)


def _notification_message(
    tenant: Tenant, n: Notification, person: User, *, link: str, unsubscribe: str
) -> EmailMultiAlternatives:
    """One notification's email, rendered in the active language and time zone (the recipient's)."""
    title = headline(n)
    context = {
        "tenant_name": tenant.name,
        "actor": n.actor_name,
        "subject": n.subject,
        "excerpt": n.excerpt,
        "url": link,
        "unsubscribe_url": unsubscribe,
        "kind_label": NotificationKind(n.kind).label,
        "headline": title,
    }
    message = EmailMultiAlternatives(
        subject=f"{tenant.name}: {title}"[:200],
        body=render_to_string("email/notification.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[person.email],
        headers={"List-Unsubscribe": f"<{unsubscribe}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    )
    message.attach_alternative(render_to_string("email/notification.html", context), "text/html")
    return message
