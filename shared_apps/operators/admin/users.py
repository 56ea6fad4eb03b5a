"""People as operators see them: accounts across workspaces, with their sign-in state and the operators' actions on
them (deactivate, reactivate, sign out, verification, password reset, email change)."""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.contrib import admin
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest, HttpResponse

from shared_apps.accounts.models import Membership, User
from shared_apps.core.text import without_nul
from shared_apps.operators.admin.actions import EmailChangeForm, OperatorActions
from shared_apps.operators.admin.people import UserAdmin
from shared_apps.workspaces import operators


class MfaFilter(admin.SimpleListFilter):
    title = "two-factor"
    parameter_name = "mfa"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "On"), ("no", "Off")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(mfa_enabled=True)
        if self.value() == "no":
            return queryset.filter(mfa_enabled=False)
        return queryset


class VerifiedFilter(admin.SimpleListFilter):
    title = "email verified"
    parameter_name = "verified"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Verified"), ("no", "Not verified")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(email_verified=True)
        if self.value() == "no":
            return queryset.filter(email_verified=False)
        return queryset


@admin.register(User)
class OperatorUserAdmin(OperatorActions, UserAdmin):
    """Accounts across every workspace: their memberships, two-factor status, last sign-in; and what operators may do
    to them, each with a reason, through `operators`. (Platform rights follow accounts' UserAdmin rules.)"""

    list_display: tuple[str, ...] = (  # type: ignore[assignment]
        "email",
        "name",
        "workspaces",
        "mfa",
        "verified",
        "is_active",
        "is_staff",
        "last_sign_in",
        "date_joined",
    )
    list_filter = ("is_active", "is_staff", MfaFilter, VerifiedFilter, "date_joined")  # type: ignore[assignment]
    search_fields = ("email", "name")
    search_help_text = "Email, name, or a workspace's name or domain"
    actions = (
        "deactivate_selected",
        "reactivate_selected",
        "sign_out_selected",
        "resend_verification",
        "password_reset_send",
        "email_change",
    )
    nouns = ("account", "accounts")

    def has_superuser_permission(self, request: HttpRequest) -> bool:
        return bool(getattr(request.user, "is_superuser", False))

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        mfa = Authenticator.objects.filter(
            user_id=OuterRef("pk"), type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
        )
        verified = EmailAddress.objects.filter(user_id=OuterRef("pk"), verified=True)
        return (
            User.objects.all()
            .annotate(workspace_count=Count("memberships"), mfa_enabled=Exists(mfa), email_verified=Exists(verified))
            .order_by("-date_joined")
        )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[User], search_term: str
    ) -> tuple[QuerySet[User], bool]:
        term = without_nul(search_term).strip()[:254]
        if not term:
            return queryset, False
        in_workspace = Membership.objects.filter(user_id=OuterRef("pk")).filter(
            Q(tenant__name__icontains=term) | Q(tenant__domains__domain__icontains=term)
        )
        return queryset.filter(Q(email__icontains=term) | Q(name__icontains=term) | Exists(in_workspace)), False

    @admin.display(description="Two-factor", boolean=True, ordering="mfa_enabled")
    def mfa(self, obj: User) -> bool:
        return bool(getattr(obj, "mfa_enabled", False))

    @admin.display(description="Verified", boolean=True, ordering="email_verified")
    def verified(self, obj: User) -> bool:
        return bool(getattr(obj, "email_verified", False))

    @admin.display(description="Last sign-in", ordering="last_login")
    def last_sign_in(self, obj: User) -> str:
        return f"{obj.last_login:%Y-%m-%d %H:%M}" if obj.last_login else "never"

    @admin.action(description="Deactivate selected accounts (and sign them out)", permissions=["change"])
    def deactivate_selected(self, request: HttpRequest, queryset: QuerySet[User]) -> HttpResponse | None:
        return self._with_reason(
            request,
            queryset,
            title="Deactivate accounts",
            button="Deactivate",
            verb="Deactivated",
            warning="They are signed out everywhere at once and cannot sign in until reactivated.",
            change=lambda u, op, d: operators.user_deactivate(user=u, acting_user=op, reason=d["reason"]),
        )

    @admin.action(description="Reactivate selected accounts", permissions=["change"])
    def reactivate_selected(self, request: HttpRequest, queryset: QuerySet[User]) -> HttpResponse | None:
        return self._with_reason(
            request,
            queryset,
            title="Reactivate accounts",
            button="Reactivate",
            verb="Reactivated",
            change=lambda u, op, d: operators.user_reactivate(user=u, acting_user=op, reason=d["reason"]),
        )

    @admin.action(description="Sign selected accounts out everywhere", permissions=["change"])
    def sign_out_selected(self, request: HttpRequest, queryset: QuerySet[User]) -> HttpResponse | None:
        return self._with_reason(
            request,
            queryset,
            title="Sign accounts out everywhere",
            button="Sign out everywhere",
            verb="Signed out",
            change=lambda u, op, d: operators.user_sign_out_everywhere(user=u, acting_user=op, reason=d["reason"]),
        )

    @admin.action(description="Resend the email verification", permissions=["change"])
    def resend_verification(self, request: HttpRequest, queryset: QuerySet[User]) -> HttpResponse | None:
        return self._with_reason(
            request,
            queryset,
            title="Resend the email verification",
            button="Send the verification email",
            verb="Sent a verification email to",
            change=lambda u, op, d: operators.user_verification_resend(user=u, acting_user=op, reason=d["reason"]),
        )

    @admin.action(description="Send a password reset email", permissions=["change"])
    def password_reset_send(self, request: HttpRequest, queryset: QuerySet[User]) -> HttpResponse | None:
        return self._with_reason(
            request,
            queryset,
            title="Send a password reset email",
            button="Send the password reset email",
            verb="Sent a password reset email to",
            warning="The person chooses a new password from the link; nobody at Atrium sees it.",
            change=lambda u, op, d: operators.user_password_reset_send(user=u, acting_user=op, reason=d["reason"]),
        )

    @admin.action(description="Change the email address (superusers)", permissions=["superuser"])
    def email_change(self, request: HttpRequest, queryset: QuerySet[User]) -> HttpResponse | None:
        return self._with_reason(
            request,
            queryset,
            form_class=EmailChangeForm,
            title="Change the email address",
            button="Change the email address",
            single=True,
            verb="Changed the email address of",
            warning="The new address must be verified before the account can sign in; the old address is told.",
            change=lambda u, op, d: operators.user_email_change(
                user=u, email=d["email"], acting_user=op, reason=d["reason"]
            ),
        )
