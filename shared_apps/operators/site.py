"""The operators' admin site (root domain): Django's admin, with Atrium's rules and pages.

- Who gets in: active staff **with two-factor authentication on** (`has_permission`); signing in goes through
  allauth (`secure_admin_login`), so the second factor is asked every time. Staff without one are sent to set it up.
  Inside, every page and action checks a Django permission: staff status alone opens nothing.
- The index is the dashboard (`dashboard.dashboard_build`) for operators who may view workspaces.
- Pages of its own: starting an impersonation and its ticket, the write step-up, ending one from the admin, a metrics
  refresh, and downloading an export. Each calls the services; none writes a row itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import urlencode

from allauth.account.adapter import get_adapter
from allauth.account.decorators import secure_admin_login
from allauth.account.internal.flows.reauthentication import did_recently_reauthenticate
from django.conf import settings
from django.contrib import admin, messages
from django.core.cache import cache
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, URLResolver, path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from shared_apps.accounts.errors import AccountError
from shared_apps.accounts.models import User
from shared_apps.accounts.permissions import NotAllowed
from shared_apps.accounts.selectors import user_has_mfa
from shared_apps.core.errors import ApplicationError
from shared_apps.core.text import without_nul
from shared_apps.core.transactions import enqueue_on_commit
from shared_apps.operators.dashboard import PRESETS, dashboard_build, period_from
from shared_apps.workspaces import impersonation
from shared_apps.workspaces.models import ImpersonationSession
from shared_apps.workspaces.selectors import metrics_gathered
from shared_apps.workspaces.services import OperatorPermission, is_operator_with
from shared_apps.workspaces.tasks import metrics_refresh
from tenants.links import workspace_path
from tenants.models import Tenant
from tenants.selectors import primary_domain, tenant_url, workspaces

_MFA_CACHE = "_atrium_operator_mfa"
# The platform's first figures, queued for a worker: asked for once in this many seconds, however many dashboards ask.
GATHER_KEY = "operators:metrics-first-gather"
GATHER_QUEUED_SECONDS = 600
_View = TypeVar("_View", bound=Callable[..., HttpResponseBase])


def operator_has_mfa(request: HttpRequest) -> bool:
    """Whether the signed-in account has a second factor (asked once per request)."""
    cached = getattr(request, _MFA_CACHE, None)
    if cached is None:
        user = request.user
        cached = isinstance(user, User) and user_has_mfa(user=user)
        setattr(request, _MFA_CACHE, cached)
    return bool(cached)


def recently_reauthenticated(request: HttpRequest) -> bool:
    """Whether the operator re-entered their password or a second-factor code within
    ACCOUNT_REAUTHENTICATION_TIMEOUT seconds (allauth keeps the record in the session)."""

    return bool(did_recently_reauthenticate(request))


def reauthenticate_redirect(request: HttpRequest, next_path: str) -> HttpResponseRedirect:
    """To allauth's re-authentication (password, or the second factor), then back to `next_path`."""

    methods = get_adapter().get_reauthentication_methods(request.user)
    url = methods[0]["url"] if methods else reverse("account_reauthenticate")
    return HttpResponseRedirect(f"{url}?{urlencode({'next': next_path})}")


class OperatorsAdminSite(admin.AdminSite):
    site_header = gettext_lazy("Atrium operators")
    site_title = gettext_lazy("Atrium operators")
    index_title = gettext_lazy("Platform")
    index_template = "admin/atrium/index.html"
    enable_nav_sidebar = False

    def admin_view(self, view: _View, cacheable: bool = False) -> _View:
        """Every admin page: NUL characters dropped from the query string first (PostgreSQL text cannot hold them;
        a search or filter carrying one would otherwise end in a database error, not a page)."""
        inner = super().admin_view(view, cacheable)

        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if any("\x00" in key or any("\x00" in v for v in values) for key, values in request.GET.lists()):
                cleaned = QueryDict(mutable=True)
                for key, values in request.GET.lists():
                    cleaned.setlist(without_nul(key), [without_nul(v) for v in values])
                cleaned._mutable = False
                request.GET = cleaned  # type: ignore[assignment]
            return inner(request, *args, **kwargs)

        return cast(_View, wrapper)

    def each_context(self, request: HttpRequest) -> dict[str, Any]:
        """Every page's context, with the operators' destinations (label, address, whether this page is in it)."""
        context = super().each_context(request)
        index = reverse("admin:index")
        destinations = [
            (_("Dashboard"), index),
            (_("Workspaces"), reverse("admin:tenants_tenant_changelist")),
            (_("People"), reverse("admin:accounts_user_changelist")),
            (_("Operator log"), reverse("admin:workspaces_operatorlogentry_changelist")),
            (_("Impersonations"), reverse("admin:workspaces_impersonationsession_changelist")),
        ]
        context["ops_nav"] = [
            (label, url, request.path == url if url == index else request.path.startswith(url))
            for label, url in destinations
        ]
        return context

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[Any]:
        """Django's list of apps, with allauth's "account" app named for what it holds: Atrium's own accounts app is
        "Accounts" too, and two boxes of one name read as one."""
        app_list = super().get_app_list(request, app_label)
        for app in app_list:
            if app["app_label"] == "account":
                app["name"] = _("Email addresses")
        return sorted(app_list, key=lambda app: str(app["name"]).lower())

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and user.is_staff) and operator_has_mfa(request)

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        user = request.user
        if user.is_authenticated and user.is_active and user.is_staff and not operator_has_mfa(request):
            context = {"site_header": self.site_header, "title": _("Two-factor authentication required")}
            return TemplateResponse(request, "admin/atrium/mfa_required.html", context, status=403)
        view = secure_admin_login(super().login)
        return view(request, extra_context)

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> TemplateResponse:
        context = dict(extra_context or {})
        if is_operator_with(request.user, OperatorPermission.VIEW):
            context.update(self._dashboard_context(request))
        return super().index(request, context)

    def _dashboard_context(self, request: HttpRequest) -> dict[str, Any]:
        """The dashboard for the range the query asks for; `gathering` while the platform's figures were never
        gathered (a new platform, `make run`): the page then says so and asks for them (`metrics_gather_view`)."""
        today = timezone.now().astimezone(UTC).date()
        period, message = period_from(request.GET, today=today)
        dashboard = dashboard_build(period)
        return {
            "dashboard": dashboard,
            "gathering": dashboard.refreshed_at is None and not metrics_gathered(),
            "period_message": message,
            "presets": list(PRESETS),
            "can_refresh": is_operator_with(request.user, OperatorPermission.CHANGE),
        }

    def metrics_gather_view(self, request: HttpRequest) -> HttpResponse:
        return require_POST(self._metrics_gather)(request)

    def _metrics_gather(self, request: HttpRequest) -> HttpResponse:
        """A platform's first figures, gathered by the metrics refresh task, asked for by the dashboard as it loads and
        every few seconds after. Without a broker the task runs in-process, as every task does there: in this request,
        which answers with the figures (the page itself was answered at once). With a broker it is queued once
        (GATHER_QUEUED_SECONDS, however many dashboards ask; the refresh takes its own lock) and each ask is answered
        204 until the figures are there. Without JavaScript: back to the dashboard."""
        if not is_operator_with(request.user, OperatorPermission.VIEW):
            return self._refused(request, _("Your operator account has no permission to view the workspaces."))
        if not metrics_gathered():
            if settings.CELERY_TASK_ALWAYS_EAGER:
                metrics_refresh.delay(full=True)
            elif cache.add(GATHER_KEY, "queued", timeout=GATHER_QUEUED_SECONDS):
                enqueue_on_commit(metrics_refresh, full=True)
        if not request.htmx:  # type: ignore[attr-defined]
            query = request.GET.urlencode()
            return HttpResponseRedirect(reverse("admin:index") + (f"?{query}" if query else ""))
        if not metrics_gathered():
            return HttpResponse(status=204)  # on their way: the page asks again in a few seconds
        return TemplateResponse(request, "admin/atrium/_figures.html", self._dashboard_context(request))

    def get_urls(self) -> list[URLResolver | URLPattern]:
        own = [
            path(
                "workspaces/<int:tenant_id>/impersonate/<int:user_id>/",
                self.admin_view(self.impersonation_begin_view),
                name="impersonation_begin",
            ),
            path(
                "workspaces/impersonation/<uuid:session_id>/ticket/",
                self.admin_view(self.impersonation_ticket_view),
                name="impersonation_ticket",
            ),
            path(
                "workspaces/impersonation/<uuid:session_id>/writes/",
                self.admin_view(self.impersonation_writes_view),
                name="impersonation_writes",
            ),
            path(
                "workspaces/impersonation/<uuid:session_id>/end/",
                self.admin_view(self.impersonation_revoke_view),
                name="impersonation_revoke",
            ),
            path("workspaces/metrics/refresh/", self.admin_view(self.metrics_refresh_view), name="metrics_refresh"),
            path("workspaces/metrics/gather/", self.admin_view(self.metrics_gather_view), name="metrics_gather"),
            path(
                "workspaces/exports/<str:name>/",
                self.admin_view(self.export_download_view),
                name="workspace_export_download",
            ),
        ]
        return own + super().get_urls()

    # --- impersonation ------------------------------------------------------------------------------------------

    def _refused(self, request: HttpRequest, message: str, *, status: int = 403, back: str = "") -> TemplateResponse:
        context = {**self.each_context(request), "title": _("Not possible"), "message": message, "back": back}
        return TemplateResponse(request, "admin/atrium/refused.html", context, status=status)

    def impersonation_begin_view(self, request: HttpRequest, tenant_id: int, user_id: int) -> HttpResponse:
        """Pick a member, give a reason, and go: checks the operator (permission, second factor, a recent
        re-authentication) and the member (never staff) before anything starts."""
        tenant = get_object_or_404(workspaces(), pk=tenant_id)
        member = get_object_or_404(User, pk=user_id)
        back = reverse("admin:tenants_tenant_change", args=[tenant.pk])
        try:
            impersonation.operator_may_impersonate(request.user)
        except NotAllowed as exc:
            return self._refused(request, exc.message, back=back)
        if not recently_reauthenticated(request):
            return reauthenticate_redirect(request, request.path)
        error = ""
        reason = ""
        if request.method == "POST":
            reason = request.POST.get("reason", "")
            assert isinstance(request.user, User)  # noqa: S101  (has_permission)
            try:
                session = impersonation.impersonation_begin(
                    operator=request.user, tenant=tenant, member=member, reason=reason
                )
            except ApplicationError as exc:
                error = exc.message
            else:
                domain = primary_domain(tenant)
                if domain is None:
                    return self._refused(request, f"{tenant.name} has no address.", back=back)
                start = workspace_path("impersonation_start")
                return HttpResponseRedirect(f"{tenant_url(domain.domain)}{start}?{urlencode({'session': session.pk})}")
        context = {
            **self.each_context(request),
            "title": _("Sign in to %(workspace)s as %(email)s") % {"workspace": tenant.name, "email": member.email},
            "tenant": tenant,
            "member": member,
            "reason": reason,
            "error": error,
            "refusal": self._target_refusal(tenant, member),
            "minutes": settings.IMPERSONATION_MAX_MINUTES,
            "ticket_seconds": settings.IMPERSONATION_TICKET_MAX_AGE,
            "notify_owners": settings.IMPERSONATION_NOTIFY_OWNERS,
            "back": back,
            "opts": Tenant._meta,
        }
        return TemplateResponse(request, "admin/atrium/impersonation_begin.html", context, status=400 if error else 200)

    @staticmethod
    def _target_refusal(tenant: Tenant, member: User) -> str:
        try:
            impersonation._check_target(tenant=tenant, member=member)
        except ApplicationError as exc:
            return exc.message
        return ""

    def impersonation_ticket_view(self, request: HttpRequest, session_id: uuid.UUID) -> HttpResponse:
        """Back from the workspace host with the binding of this browser's cookie: mint the ticket and go redeem it."""
        assert isinstance(request.user, User)  # noqa: S101
        try:
            url = impersonation.impersonation_ticket(
                operator=request.user, session_id=str(session_id), binding=request.GET.get("binding", "")[:64]
            )
        except (ApplicationError, AccountError) as exc:
            return self._refused(request, exc.message, back=reverse("admin:index"))
        return HttpResponseRedirect(url)

    def impersonation_writes_view(self, request: HttpRequest, session_id: uuid.UUID) -> HttpResponse:
        """The step-up: allow changes in a running impersonation, with its own permission, re-authentication and
        reason; then back to the page the operator was on in the workspace."""
        assert isinstance(request.user, User)  # noqa: S101
        session = (
            ImpersonationSession.objects.select_related("tenant", "member")
            .filter(pk=session_id, operator=request.user)
            .first()
        )
        if session is None:
            raise Http404
        back = reverse("admin:tenants_tenant_change", args=[session.tenant_id])
        try:
            impersonation.operator_may_impersonate(request.user, writes=True)
        except NotAllowed as exc:
            return self._refused(request, exc.message, back=back)
        if not recently_reauthenticated(request):
            return reauthenticate_redirect(request, request.get_full_path())
        next_path = request.GET.get("next") or request.POST.get("next") or "/"
        if not (next_path.startswith("/") and url_has_allowed_host_and_scheme(next_path, allowed_hosts=None)):
            next_path = "/"
        error, reason = "", ""
        if request.method == "POST":
            reason = request.POST.get("reason", "")
            try:
                impersonation.impersonation_writes_enable(
                    operator=request.user, session_id=str(session.pk), reason=reason
                )
            except ApplicationError as exc:
                error = exc.message
            else:
                domain = primary_domain(session.tenant)
                return HttpResponseRedirect(f"{tenant_url(domain.domain) if domain else ''}{next_path}")
        context = {
            **self.each_context(request),
            "title": _("Allow changes as %(email)s") % {"email": session.member.email},
            "session": session,
            "reason": reason,
            "error": error,
            "next": next_path,
            "back": back,
        }
        return TemplateResponse(
            request, "admin/atrium/impersonation_writes.html", context, status=400 if error else 200
        )

    def impersonation_revoke_view(self, request: HttpRequest, session_id: uuid.UUID) -> HttpResponse:
        if request.method != "POST":
            return HttpResponse(status=405)
        assert isinstance(request.user, User)  # noqa: S101
        try:
            session = impersonation.impersonation_revoke(operator=request.user, session_id=str(session_id))
        except ApplicationError as exc:
            return self._refused(request, exc.message, back=reverse("admin:index"))
        messages.success(
            request,
            _("Ended %(operator_label)s's session as %(email)s.")
            % {"operator_label": session.operator_label, "email": session.member.email},
        )
        return HttpResponseRedirect(reverse("admin:tenants_tenant_change", args=[session.tenant_id]))

    # --- metrics and exports ------------------------------------------------------------------------------------

    def metrics_refresh_view(self, request: HttpRequest) -> HttpResponse:
        return require_POST(self._metrics_refresh)(request)

    def _metrics_refresh(self, request: HttpRequest) -> HttpResponse:
        if not is_operator_with(request.user, OperatorPermission.CHANGE):
            return self._refused(request, _("Your operator account has no permission to refresh the metrics."))

        enqueue_on_commit(metrics_refresh)  # with the broker down it waits in the outbox rather than failing the page
        messages.info(
            request,
            _("Metrics refresh started: figures update when it finishes (at once without a worker).")
            if not settings.CELERY_TASK_ALWAYS_EAGER
            else _("Metrics refreshed."),
        )
        return HttpResponseRedirect(reverse("admin:index"))

    def export_download_view(self, request: HttpRequest, name: str) -> HttpResponseBase:
        """An archive `workspace_export` wrote into TENANT_EXPORT_DIR, for operators who may export."""
        if not is_operator_with(request.user, OperatorPermission.CHANGE):
            return self._refused(request, _("Your operator account has no permission to download exports."))
        folder = Path(settings.TENANT_EXPORT_DIR).resolve()
        candidate = (folder / name).resolve()
        if "/" in name or "\x00" in name or candidate.parent != folder or not name.endswith(".tar.gz"):
            raise Http404
        if not candidate.is_file():
            raise Http404
        return FileResponse(candidate.open("rb"), as_attachment=True, filename=name)
