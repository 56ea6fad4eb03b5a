"""People as operators see them: accounts across workspaces, with their sign-in state and the operators' actions on
them (deactivate, reactivate, sign out, verification, password reset, email change)."""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.contrib import admin
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext, ngettext_lazy
from django.utils.translation import gettext_lazy as _

from shared_apps.accounts.models import Membership, User
from shared_apps.core.text import without_nul
from shared_apps.operators.admin.actions import EmailChangeForm, OperatorActions
from shared_apps.operators.admin.people import UserAdmin
from shared_apps.workspaces import operators


class MfaFilter(admin.SimpleListFilter):
    title = _("two-factor")
    parameter_name = "mfa"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", gettext("On")), ("no", gettext("Off"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(mfa_enabled=True)
        if self.value() == "no":
            return queryset.filter(mfa_enabled=False)
        return queryset


class VerifiedFilter(admin.SimpleListFilter):
    title = _("email verified")
    parameter_name = "verified"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", gettext("Verified")), ("no", gettext("Not verified"))]

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
    search_help_text = _("Email, name, or a workspace's name or domain")
    actions = (
        "deactivate_selected",
        "reactivate_selected",
        "sign_out_selected",
        "resend_verification",
        "password_reset_send",
        "email_change",
    )

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

    @admin.display(description=_("Two-factor"), boolean=True, ordering="mfa_enabled")
    def mfa(self, obj: User) -> bool:
        return bool(getattr(obj, "mfa_enabled", False))

    @admin.display(description=_("Verified"), boolean=True, ordering="email_verified")
    def verified(self, obj: User) -> bool:
        return bool(getattr(obj, "email_verified", False))

    @admin.display(description=_("Last sign-in"), ordering="last_login")
    def last_sign_in(self, obj: User) -> str:
        if not obj.last_login:
            return gettext("never")
        return date_format(timezone.localtime(obj.last_login), "DATETIME_FORMAT")

    @admin.action(description=_("Deactivate selected accounts (and sign them out)"), permissions=["change"])
    def deactivate_selected(self, request: HttpRequest, queryset: QuerySet[User]) -> HttpResponse | None:
        return self._with_reason(
            request,
            queryset,
            title=_("Deactivate accounts"),
            button=_("Deactivate"),
            done=ngettext_lazy("Deactivated %(count)d account.", "Deactivated %(count)d accounts.", "count"),
            warning=_("They are signed out everywhere at once and cannot sign in until reactivated."),
            change=lambda u, op, d: operators.user_deactivate(user=u, acting_user=op, reason=d["reason"]),
        )

    @admin.action(description=_("Reactivate selected accounts"), permissions=["change"])
    def reactivate_selected(self, request: HttpRequest, queryset: QuerySet[User]) -> HttpResponse | None:
        return self._with_reason(
            request,
            queryset,
            title=_("Reactivate accounts"),
            button=_("Reactivate"),
            done=ngettext_lazy("Reactivated %(count)d account.", "Reactivated %(count)d accounts.", "count"),
            change=lambda u, op, d: operators.user_reactivate(user=u, acting_user=op, reason=d["reason"]),
        )

    @admin.action(description=_("Sign selected accounts out everywhere"), permissions=["change"])
    def sign_out_selected(self, request: HttpRequest, queryset: QuerySet[User]) -> HttpResponse | None:
        return self._with_reason(
            request,
            queryset,
            title=_("Sign accounts out everywhere"),
            button=_("Sign out everywhere"),
            done=ngettext_lazy("Signed out %(count)d account.", "Signed out %(count)d accounts.", "count"),
            change=lambda u, op, d: operators.user_sign_out_everywhere(user=u, acting_user=op, reason=d["reason"]),
        )

    @admin.action(description=_("Resend the email verification"), permissions=["change"])
    def resend_verification(self, request: HttpRequest, queryset: QuerySet[User]) -> HttpResponse | None:
        return self._with_reason(
            request,
            queryset,
            title=_("Resend the email verification"),
            button=_("Send the verification email"),
            done=ngettext_lazy(
                "Sent a verification email to %(count)d account.",
                "Sent a verification email to %(count)d accounts.",
                "count",
            ),
            change=lambda u, op, d: operators.user_verification_resend(user=u, acting_user=op, reason=d["reason"]),
        )

    @admin.action(description=_("Send a password reset email"), permissions=["change"])
    def password_reset_send(self, request: HttpRequest, queryset: QuerySet[User]) -> HttpResponse | None:
        return self._with_reason(
            request,
            queryset,
            title=_("Send a password reset email"),
            button=_("Send the password reset email"),
            done=ngettext_lazy(
                "Sent a password reset email to %(count)d account.",
                "Sent a password reset email to %(count)d accounts.",
                "count",
            ),
            warning=_("The person chooses a new password from the link; nobody at Atrium sees it."),
            change=lambda u, op, d: operators.user_password_reset_send(user=u, acting_user=op, reason=d["reason"]),
        )

    @admin.action(description=_("Change the email address (superusers)"), permissions=["superuser"])
    def email_change(self, request: HttpRequest, queryset: QuerySet[User]) -> HttpResponse | None:
        return self._with_reason(
            request,
            queryset,
            form_class=EmailChangeForm,
            title=_("Change the email address"),
            button=_("Change the email address"),
            single=True,
            done=ngettext_lazy(
                "Changed the email address of %(count)d account.",
                "Changed the email address of %(count)d accounts.",
                "count",
            ),
            warning=_("The new address must be verified before the account can sign in; the old address is told."),
            change=lambda u, op, d: operators.user_email_change(
                user=u, email=d["email"], acting_user=op, reason=d["reason"]
            ),
        )
