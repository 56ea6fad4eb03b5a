"""Template tags shared by Atrium's pages."""

from __future__ import annotations

import re
from typing import Any

from allauth.mfa.models import Authenticator
from django import template
from django.conf import settings
from django.urls import get_urlconf, set_urlconf
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe

from shared_apps.accounts.passkeys import passkeys_available
from shared_apps.accounts.ratelimits import retry_after
from shared_apps.accounts.selectors import sessions_by_browser
from shared_apps.core.useragent import browser_label
from shared_apps.identity import selectors as identity_selectors
from tenants.links import public_path
from tenants.selectors import root_url

register = template.Library()

# Where an address may break across lines: after its "@", before each "." (the usual typographic rule for addresses).
ADDRESS_BREAK = re.compile(r"(?<=@)|(?=\.)")


@register.simple_tag(takes_context=True)
def root_social_login_url(context: template.Context, provider: Any, next_path: str = "/") -> str:
    """The root domain's "continue with <provider>" URL, for a workspace's sign-in page.

    Providers have one callback URL, on the root, so a workspace's buttons start the flow there; `next_path` (e.g.
    /workspaces/acme/open/) brings the person back through a login handoff.
    """
    previous = get_urlconf()
    set_urlconf(settings.PUBLIC_SCHEMA_URLCONF)
    try:
        path = provider.get_login_url(context.get("request"), process="login", next=next_path)
    finally:
        set_urlconf(previous)
    return f"{root_url()}{path}"


@register.simple_tag
def public_url(name: str, **kwargs: Any) -> str:
    """The absolute URL of a named page of the root domain, from any host: `{% public_url 'workspaces' %}`.

    `{% url %}` resolves against the current host's URLconf; a workspace page linking to the root needs this instead.
    """
    return f"{root_url()}{public_path(name, **kwargs)}"


@register.simple_tag(takes_context=True)
def resend_wait(context: template.Context, action: str, key: str = "") -> int:
    """Seconds until allauth's `action` limit allows another code to `key` (the code page's "Resend code"
    countdown; the limit itself refuses an early resend on the server)."""

    request = context.get("request")
    return retry_after(request, action=action, key=str(key) or None) if request is not None else 0


@register.filter
def message_undo_url(message: Any) -> str:
    """The URL a flash message's "Undo" button posts to, from its `undo:<path>` extra tag ("" when it has none)."""
    for tag in (getattr(message, "extra_tags", "") or "").split():
        if tag.startswith("undo:/"):
            return tag.removeprefix("undo:")
    return ""


@register.filter
def message_about(message: Any) -> str:
    """The ids of the page's elements a flash message reports on, from its `about:<id>` extra tags, space-separated
    ("" when it names none): the toast keeps clear of them (static/js/ui.js)."""
    tags = (getattr(message, "extra_tags", "") or "").split()
    return " ".join(tag.removeprefix("about:") for tag in tags if tag.startswith("about:") and len(tag) > 6)


@register.filter(name="browser_label")
def browser_label_filter(user_agent: str | None) -> str:
    """The readable name of a browser ("Chrome on Linux") from its User-Agent string."""
    return browser_label(user_agent)


@register.filter
def one_per_browser(sessions: Any) -> list[Any]:
    """allauth's sessions, one per browser (same User-Agent and address): a browser signed in on the Atrium home
    page and on a workspace is one row, shown by its current session if it has it, else its latest."""
    rows = sessions_by_browser(list(sessions), current_session_key=None)
    return [
        next((s for s in row["sessions"] if s.is_current()), None) or max(row["sessions"], key=lambda s: s.last_seen_at)
        for row in rows
    ]


@register.simple_tag(takes_context=True)
def sso_url(context: template.Context) -> str:
    """The root's "Sign in with SSO" page: on the root, for anyone; on a workspace's sign-in page, for that workspace,
    and only when it has an identity provider (cached per process: no statement on a warm workspace). Empty when there
    is nothing to offer."""
    tenant = context.get("current_tenant")
    if tenant is None:
        return f"{root_url()}/sso/"
    if not identity_selectors.workspace_has_sso(tenant_id=tenant.pk):
        return ""
    request = context.get("request")
    slug = request.get_host().split(".")[0].split(":")[0] if request is not None else ""
    return f"{root_url()}/sso/?workspace={slug}"


@register.simple_tag(takes_context=True)
def passkeys_here(context: template.Context) -> bool:
    """Whether this host can use a passkey (the root domain and its subdomains; not a custom domain)."""
    return passkeys_available(context.get("request"))


@register.filter
def mfa_types(user: Any) -> list[str]:
    """The kinds of second factor an account has ("totp", "webauthn", "recovery_codes"). One query."""
    if user is None or not getattr(user, "pk", None):
        return []
    return sorted({str(t) for t in Authenticator.objects.filter(user_id=user.pk).values_list("type", flat=True)})


@register.filter
def initials(name: str | None) -> str:
    """Up to two capital letters for a person's name ("Ann Lee" → "AL"; an address → its first letter)."""
    words = [w for w in str(name or "").replace("@", " ").split() if w[:1].isalpha()]
    if not words:
        return "?"
    if "@" in str(name):
        return words[0][0].upper()
    return (words[0][0] + (words[-1][0] if len(words) > 1 else "")).upper()


@register.filter(needs_autoescape=True)
def soft_breaks(value: object, autoescape: bool = True) -> SafeString | str:
    """An email address, host or file name (one word, no spaces) as `<span class="addr">` with a `<wbr>` after its "@"
    and before each ".": a narrow column wraps it there (and after its hyphens) rather than in the middle of a word.
    Text with spaces is returned as it is; it breaks at its spaces."""
    text = "" if value is None else str(value)
    escape = conditional_escape if autoescape else str
    if not text or any(c.isspace() for c in text):
        return escape(text)
    parts = [escape(part) for part in ADDRESS_BREAK.split(text) if part]
    return format_html('<span class="addr">{}</span>', mark_safe("<wbr>".join(parts)))  # noqa: S308  (escaped above)
