"""allauth adapters: where people land after signing in or up, and who may sign up where."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context
from allauth.core import context as allauth_context
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter, _build_apps_from_settings
from django.db.models import Q
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

from shared_apps.accounts.models import Membership
from shared_apps.accounts.preferences import recipient_locale
from shared_apps.accounts.selectors import membership_for
from tenants.links import public_path, workspace_path


def _on_root(request: HttpRequest) -> bool:
    route = getattr(request, "route", None)
    return route is None or route.is_public


def _workspace_of_member(request: HttpRequest | None, email: str) -> Any:
    """The workspace whose host `request` came to, if an account with the address `email` is one of its members."""

    route = getattr(request, "route", None)
    if request is None or route is None or route.is_public:
        return None
    member = Membership.objects.filter(tenant_id=route.tenant_id).filter(
        Q(user__email__iexact=email) | Q(user__emailaddress__email__iexact=email)
    )
    return getattr(request, "tenant", None) if member.exists() else None


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Organizations sign up on the root domain; a workspace's own pages offer sign-in only.
        return _on_root(request)

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        # On the root: straight into the only workspace, or the list, or "create one". On a workspace: its home.
        return public_path("workspaces_continue") if _on_root(request) else workspace_path("home")

    def add_message(
        self,
        request: HttpRequest,
        level: int,
        message_template: str | None = None,
        message_context: dict[str, Any] | None = None,
        extra_tags: str = "",
        message: str | None = None,
    ) -> None:
        # Someone who signs in on a workspace they don't belong to is not told "Successfully signed in" just before
        # the page that says they have no access here (it says so plainly, and links their own workspaces).
        if message_template == "account/messages/logged_in.txt" and not _on_root(request):
            user = getattr(request, "user", None)
            route = getattr(request, "route", None)
            if (
                user is not None
                and route is not None
                and user.is_authenticated
                and membership_for(user_id=user.pk, tenant_id=route.tenant_id) is None
            ):
                return
        super().add_message(
            request,
            level,
            message_template=message_template,
            message_context=message_context,
            extra_tags=extra_tags,
            message=message,
        )

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        """Mail asked for on a workspace's host names the workspace (subject, header, body) only to its members: to
        anyone else — no account, or an account of another workspace — it carries no text the workspace chose, or
        any owner could have Atrium send their words to any address."""

        workspace = _workspace_of_member(allauth_context.request, email)
        route = getattr(allauth_context.request, "route", None)
        # In the reader's language and time zone: theirs, else this workspace's default (their workspace's only).
        with recipient_locale(email=email, workspace_language=getattr(route, "language", "") if workspace else ""):
            super().send_mail(
                template_prefix,
                email,
                {**context, "current_tenant": workspace, "mail_workspace": workspace.name if workspace else ""},
            )

    def get_signup_redirect_url(self, request: HttpRequest) -> str:
        # Sign-up is open on the root only (is_open_for_signup), and continues with naming the workspace there.
        return public_path("signup_workspace")

    def is_safe_url(self, url: str | None) -> bool:
        """`next=` after sign-in, sign-out and the like: a path on this host only. allauth would accept any host in
        ALLOWED_HOSTS, which in production is every workspace (`.example.com`): a link could then send someone
        from one workspace's sign-in page to another's."""

        if not url:
            return False
        request = context.request
        host = request.get_host() if request is not None else None
        return url_has_allowed_host_and_scheme(
            url, allowed_hosts={host} if host else set(), require_https=request is not None and request.is_secure()
        )

    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: Any) -> str:
        # allauth keys failed logins by site domain + login, and on this platform every subdomain is its own
        # "site": an attacker would get a fresh allowance per workspace host. One key per account instead.
        login = str(credentials.get("email", credentials.get("username", ""))).lower()
        return f"atrium:{login}"


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest, sociallogin: Any) -> bool:
        return _on_root(request)

    def list_apps(self, request: HttpRequest, provider: Any = None, client_id: Any = None) -> list[Any]:
        """Providers come from the environment only (SOCIALACCOUNT_PROVIDERS), never from database rows: no query
        on every sign-in page, and no provider an operator could add by hand without it being in the config."""

        apps: list[Any] = []
        for provider_apps in _build_apps_from_settings(provider=provider, client_id=client_id).values():
            apps.extend(provider_apps)
        return apps
