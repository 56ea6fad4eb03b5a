from __future__ import annotations

import importlib
from typing import Any, ClassVar

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken
from allauth.usersessions.models import UserSession
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.db.models import Count, Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from shared_apps.accounts.models import Membership, User
from shared_apps.operators.admin.readonly import ReadOnlyModelAdmin, ReadOnlyTabularInline


class MembershipInline(ReadOnlyTabularInline[Membership, User]):
    """Read-only: memberships change on the workspace's own settings pages, through the services that keep the
    last-owner rule, the seat limit and the audit log."""

    model = Membership
    fields = ("tenant", "role", "created_at")


PRIVILEGE_FIELDS = ("is_staff", "is_superuser", "groups", "user_permissions")


# What opens an account — its password, its addresses, its sign-in identities, its second factors, its sessions — is
# never set or shown in the admin, whatever the operator's Django permissions: support sends a password reset email,
# and a superuser moves an account to another address through the audited operators' service that tells both
# addresses (shared_apps/workspaces/operators.py).
ACCOUNT_KEY_FIELDS = ("email", "is_active")


class UserAdmin(DjangoUserAdmin):
    ordering = ("-date_joined",)
    list_display = ("email", "name", "workspaces", "is_active", "is_staff", "last_login", "date_joined")
    list_filter = ("is_active", "is_staff", "is_superuser", "date_joined")
    search_fields = ("email", "name")
    readonly_fields = (*ACCOUNT_KEY_FIELDS, "last_login", "date_joined")
    inlines: ClassVar = [MembershipInline]
    # Plain multiple selects, not Django's two-box filter widget: its script names a bare <span> with aria-label (an
    # attribute that element may not carry) and draws its "chosen" box in colours below AA contrast.
    filter_horizontal = ()
    fieldsets = (
        (None, {"fields": ("email",)}),
        (_("Profile"), {"fields": ("name",)}),
        (
            _("Platform permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Accounts are made by sign-up, invitations and `tenant create`, never with a password an operator knows."""
        return False

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> HttpResponse:
        """Django's "set this person's password" form, gone for everyone (see ACCOUNT_KEY_FIELDS)."""
        raise Http404("Operators do not set passwords; send a password reset email instead.")

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).annotate(workspace_count=Count("memberships"))

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> list[str]:
        """Platform rights (staff, superuser, groups, permissions) are given by superusers only, and never by
        anyone to themselves: a staff account allowed to edit users cannot make itself, or anyone, more powerful."""
        fields = list(super().get_readonly_fields(request, obj))
        acting = request.user
        if obj is not None and (not getattr(acting, "is_superuser", False) or obj.pk == acting.pk):
            fields += [f for f in PRIVILEGE_FIELDS if f not in fields]
        return fields

    def has_change_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        # Only a superuser may edit a superuser (their email and password are the keys to the whole platform).
        if obj is not None and obj.is_superuser and not getattr(request.user, "is_superuser", False):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        """Nobody deletes an account: workspaces' rows keep the ids of the people who made them (in schemas this
        page cannot reach, without database constraints: tenants.references), so an account is deactivated instead
        and its name stays on what it did."""
        return False

    @admin.display(description=_("Workspaces"), ordering="workspace_count")
    def workspaces(self, obj: User) -> int:
        return int(getattr(obj, "workspace_count", 0))


@admin.register(Membership)
class MembershipAdmin(ReadOnlyModelAdmin):
    """Who belongs where, for operators to look up. Read-only: see MembershipInline."""

    list_display = ("user", "tenant", "role", "created_at")
    list_filter = ("role", "created_at")
    search_fields = ("user__email", "user__name", "tenant__name", "tenant__domains__domain")
    list_select_related = ("user", "tenant")
    readonly_fields = ("user", "tenant", "role", "created_at")
    date_hierarchy = "created_at"


# --- the keys to accounts: read-only, their secrets never shown ---------------------------------------------------


class AccountKeyAdmin(ReadOnlyModelAdmin):
    """A record that opens an account (an address, a sign-in identity, a second factor, a session, a provider's
    credentials): operators may look it up, never add, change or delete it, and never see its secret — not even a
    superuser. `fields` lists what is shown; everything else (keys, tokens, secrets, raw data) stays out."""

    actions = None


def _account_key_admin(model: type[Model], shown: tuple[str, ...], **options: Any) -> None:
    """Register `model` (replacing its app's own admin) as an AccountKeyAdmin showing only `shown`."""
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    attributes = {"fields": shown, "readonly_fields": shown, "list_display": options.pop("list_display", shown)}
    admin.site.register(model, type(f"{model.__name__}Admin", (AccountKeyAdmin,), {**attributes, **options}))


def _account_keys_register() -> None:

    # allauth's own admin modules register first (the admin imports them after this app's), then are replaced
    for app in ("account", "mfa", "socialaccount", "usersessions"):
        importlib.import_module(f"allauth.{app}.admin")

    user_search = {"search_fields": ["user__email"], "list_select_related": ["user"]}
    _account_key_admin(EmailAddress, ("user", "email", "verified", "primary"), **user_search)
    _account_key_admin(SocialAccount, ("user", "provider", "uid", "last_login", "date_joined"), **user_search)
    _account_key_admin(SocialToken, ("app", "account", "expires_at"))
    _account_key_admin(SocialApp, ("provider", "provider_id", "name", "client_id"))
    _account_key_admin(Authenticator, ("user", "type", "created_at", "last_used_at"), **user_search)
    # allauth's own sessions list searched `user__username`, which an email-login account does not have
    _account_key_admin(
        UserSession, ("user", "ip", "user_agent", "created_at", "last_seen_at"), search_fields=["user__email", "ip"]
    )


_account_keys_register()


# --- groups: whoever belongs to one holds its permissions, so only superusers shape them --------------------------

admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(DjangoGroupAdmin):
    filter_horizontal = ()  # plain multiple selects, as on UserAdmin

    def has_add_permission(self, request: HttpRequest) -> bool:
        return bool(getattr(request.user, "is_superuser", False))

    def has_change_permission(self, request: HttpRequest, obj: Group | None = None) -> bool:
        return bool(getattr(request.user, "is_superuser", False))

    def has_delete_permission(self, request: HttpRequest, obj: Group | None = None) -> bool:
        """Nobody deletes a group: workspaces' grants keep its id in schemas this page cannot reach (as for accounts,
        see UserAdmin); take its permissions and members away instead."""
        return False
