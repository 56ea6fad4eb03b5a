"""The operator log and impersonations: read-only records (an impersonation can be ended)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from shared_apps.accounts.models import User
from shared_apps.core.errors import ApplicationError
from shared_apps.core.text import without_nul
from shared_apps.operators.admin.readonly import ReadOnlyModelAdmin
from shared_apps.workspaces import impersonation
from shared_apps.workspaces.models import ImpersonationSession, OperatorLogEntry
from shared_apps.workspaces.services import is_operator_with


@admin.register(OperatorLogEntry)
class OperatorLogEntryAdmin(ReadOnlyModelAdmin):
    list_display = ("created_at", "operator_label", "action", "tenant_name", "target_label", "reason")
    list_filter = ("action", "created_at")
    search_fields = ("operator_label", "tenant_name", "target_label", "reason")
    date_hierarchy = "created_at"
    readonly_fields = (
        "created_at",
        "operator",
        "operator_label",
        "action",
        "tenant_id",
        "tenant_name",
        "target_user",
        "target_label",
        "reason",
        "metadata",
        "ip_address",
        "user_agent",
    )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        return super().get_search_results(request, queryset, without_nul(search_term)[:254])


class LiveFilter(admin.SimpleListFilter):
    title = gettext_lazy("state")
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("live", _("Running")), ("ended", _("Ended"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        now = timezone.now()
        if self.value() == "live":
            return queryset.filter(ended_at__isnull=True, expires_at__gt=now, started_at__isnull=False)
        if self.value() == "ended":
            return queryset.filter(Q(ended_at__isnull=False) | Q(expires_at__lte=now))
        return queryset


@admin.register(ImpersonationSession)
class ImpersonationSessionAdmin(ReadOnlyModelAdmin):
    list_display = (
        "created_at",
        "operator_label",
        "member",
        "tenant",
        "reason",
        "state",
    )
    list_filter = (LiveFilter, "end_reason", "created_at")
    list_select_related = ("member", "tenant")
    search_fields = ("operator_label", "member__email", "tenant__name", "reason")
    readonly_fields = (
        "id",
        "operator",
        "operator_label",
        "member",
        "tenant",
        "reason",
        "created_at",
        "started_at",
        "expires_at",
        "writes_enabled_at",
        "writes_reason",
        "ended_at",
        "end_reason",
    )
    actions = ("end_selected",)

    def has_impersonate_permission(self, request: HttpRequest) -> bool:
        return is_operator_with(request.user, impersonation.PERMISSION)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        return super().get_search_results(request, queryset, without_nul(search_term)[:254])

    @admin.display(description=gettext_lazy("State"), ordering="started_at")
    def state(self, obj: ImpersonationSession) -> str:
        """Where it stands, in one column (started, changes allowed, ended and why): four columns of times did not fit
        beside the reason on a laptop."""
        if obj.ended_at is not None:
            return _("%(why)s at %(time)s") % {
                "why": obj.get_end_reason_display(),
                "time": formats.date_format(timezone.localtime(obj.ended_at), "SHORT_DATETIME_FORMAT"),
            }
        if obj.expires_at <= timezone.now():
            return _("expired")
        if obj.started_at is None:
            return _("not started")
        return _("running, changes allowed") if obj.writes_enabled_at else _("running, read-only")

    @admin.action(description=gettext_lazy("End selected impersonations now"), permissions=["impersonate"])
    def end_selected(self, request: HttpRequest, queryset: QuerySet[ImpersonationSession]) -> None:
        ended = 0
        operator = request.user
        assert isinstance(operator, User)  # noqa: S101
        for session in queryset.filter(ended_at__isnull=True):
            try:
                impersonation.impersonation_revoke(operator=operator, session_id=str(session.pk))
                ended += 1
            except ApplicationError as exc:
                self.message_user(request, exc.message, messages.WARNING)
        message = ngettext("Ended %(count)d impersonation.", "Ended %(count)d impersonations.", ended) % {
            "count": ended
        }
        self.message_user(request, message, messages.SUCCESS)
