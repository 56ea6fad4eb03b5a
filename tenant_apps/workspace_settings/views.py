"""A workspace's settings pages (tenant host): general, members, invitations, profile (billing: billing_views).

Thin: each view parses input, calls a selector or a service, and renders. Who may do what is the permission matrix's
answer (`action_required` for the page, the service again for the change); an id from another workspace is "not
found" because every selector filters on this workspace.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.timesince import timesince
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from shared_apps.accounts import selectors, services
from shared_apps.accounts.decorators import action_required
from shared_apps.accounts.errors import AccountError, NotFound, SeatLimitReached
from shared_apps.accounts.http import MemberRequest
from shared_apps.accounts.models import Membership, Role, User
from shared_apps.accounts.permissions import (
    Action,
    NotAllowed,
    assignable_roles,
    can,
    can_manage,
)
from shared_apps.core.text import without_nul
from tenant_apps.workspace_settings.forms import (
    ApiKeyForm,
    ApiKeyRevokeForm,
    InviteForm,
    PreferencesForm,
    ProfileForm,
)
from tenant_apps.workspace_settings.pages import forbidden, settings_context
from tenants.links import public_path
from tenants.models import Tenant
from tenants.selectors import root_url

MEMBERS_PER_PAGE = 50
PENDING_PREVIEW = 5  # the newest pending invitations shown under the members; the rest on the Invitations tab
API_KEYS_PER_PAGE = 50
SEARCH_MAX_LENGTH = 100
MAX_RETURN_QUERY = 1024  # the members list's own query string (search and page) is far shorter
INVITATIONS_PER_PAGE = 50
UNDO_TAG = "undo:"  # a message's extra tag naming the URL its "Undo" button posts to (templates/base.html)
ABOUT_TAG = "about:"  # a message's extra tag naming a row it reports on, which its toast keeps clear of


def _about(*row_ids: str) -> str:
    return " ".join(f"{ABOUT_TAG}{row_id}" for row_id in row_ids)


def _workspace(request: MemberRequest) -> Tenant:
    return request.tenant


def _user(request: MemberRequest) -> User:
    return request.user


def _role(request: MemberRequest) -> str:
    return request.membership.role


def _page(request: MemberRequest, items: QuerySet[Any], per_page: int) -> Page[Any]:
    return Paginator(items, per_page).get_page(request.GET.get("page"))


def _membership(request: MemberRequest, membership_id: int) -> Membership:
    try:
        return selectors.membership_get(tenant_id=_workspace(request).pk, membership_id=membership_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc


# --- leaving ------------------------------------------------------------------------------------------------------


@action_required(Action.MEMBERS_LEAVE)
@require_http_methods(["GET", "POST"])
def leave(request: MemberRequest) -> HttpResponse:
    tenant = _workspace(request)
    if request.method == "POST":
        try:
            services.member_leave(tenant=tenant, user=_user(request))
        except AccountError as exc:
            messages.error(request, exc.message)
            return redirect("settings_general")
        logout(request)  # this host's session served only this workspace
        return HttpResponseRedirect(root_url() + public_path("workspaces"))
    # The only owner is told before any confirmation that they cannot leave, and what to do instead.
    sole_owner = selectors.is_sole_owner(user_id=_user(request).pk, tenant_id=tenant.pk)
    return render(request, "tenant/settings/leave.html", settings_context(request, "general", sole_owner=sole_owner))


# --- members -----------------------------------------------------------------------------------------------------


@action_required(Action.MEMBERS_VIEW)
def members(request: MemberRequest) -> HttpResponse:
    tenant = _workspace(request)
    role = _role(request)
    query = _search_term(request.GET.get("q", ""))
    page = _page(request, selectors.member_list(tenant_id=tenant.pk, search=query), MEMBERS_PER_PAGE)
    me = _user(request).pk
    rows = [
        {
            "membership": m,
            "is_me": m.user_id == me,
            "manageable": m.user_id != me and can_manage(role, m.role),
            "roles": [r for r in assignable_roles(role) if r != Role.OWNER or can_manage(role, Role.OWNER)],
            "last_seen": _ago(m.user.last_login),
        }
        for m in page.object_list
    ]
    pending, more_pending = (
        selectors.invitations_pending_preview(tenant_id=tenant.pk, limit=PENDING_PREVIEW)
        if can(role, Action.INVITATIONS_MANAGE)
        else ([], False)
    )
    context = settings_context(
        request,
        "members",
        pending=pending,
        more_pending=more_pending,
        page=page,
        rows=rows,
        query=query,
        show_security=can(role, Action.MEMBERS_VIEW_SECURITY),
        seats_used=selectors.seats_used(tenant_id=tenant.pk),
        seat_limit=selectors.seat_limit(tenant_id=tenant.pk),
    )
    return render(request, "tenant/settings/members.html", context)


@action_required(Action.MEMBERS_CHANGE_ROLE)
@require_POST
def member_role(request: MemberRequest, membership_id: int) -> HttpResponse:
    membership = _membership(request, membership_id)
    try:
        changed = services.member_role_change(
            tenant=_workspace(request),
            membership=membership,
            role=request.POST.get("role", ""),
            acting_user=_user(request),
        )
    except NotAllowed as exc:
        return forbidden(request, exc)
    except AccountError as exc:
        messages.error(request, exc.message)
    else:
        who = changed.user.get_full_name()
        messages.success(
            request,
            _("%(who)s is now %(lower)s.") % {"who": who, "lower": changed.get_role_display().lower()},
            extra_tags=_about(f"member-{changed.pk}"),
        )
    return redirect(_back(request))


@action_required(Action.MEMBERS_REMOVE)
@require_http_methods(["GET", "POST"])
def member_remove(request: MemberRequest, membership_id: int) -> HttpResponse:
    membership = _membership(request, membership_id)
    if request.method == "POST":
        try:
            services.member_remove(tenant=_workspace(request), membership=membership, acting_user=_user(request))
        except NotAllowed as exc:
            return forbidden(request, exc)
        except AccountError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                _("%(get_full_name)s was removed from %(name)s.")
                % {"get_full_name": membership.user.get_full_name(), "name": _workspace(request).name},
            )
        return redirect("settings_members")
    return render(
        request, "tenant/settings/member_remove.html", settings_context(request, "members", target=membership)
    )


@action_required(Action.OWNERSHIP_TRANSFER)
@require_http_methods(["GET", "POST"])
def member_transfer(request: MemberRequest, membership_id: int) -> HttpResponse:
    membership = _membership(request, membership_id)
    if request.method == "POST":
        try:
            services.ownership_transfer(tenant=_workspace(request), membership=membership, acting_user=_user(request))
        except NotAllowed as exc:
            return forbidden(request, exc)
        except AccountError as exc:
            messages.error(request, exc.message)
        else:
            who, workspace = membership.user.get_full_name(), _workspace(request).name
            messages.success(
                request,
                _("%(who)s is now an owner of %(workspace)s; you're an admin.") % {"who": who, "workspace": workspace},
            )
        return redirect("settings_members")
    return render(
        request, "tenant/settings/member_transfer.html", settings_context(request, "members", target=membership)
    )


def _ago(moment: datetime | None) -> str:
    if moment is None:
        return _("Never")
    if timezone.now() - moment < timedelta(minutes=1):
        return _("Just now")
    return _("%(time)s ago") % {"time": timesince(moment, depth=1)}


def _back(request: MemberRequest) -> str:
    """Where to return after a row action: the members list, keeping its search and page."""
    members = reverse("settings_members")
    kept = QueryDict(request.POST.get("return_query", "")[:MAX_RETURN_QUERY])
    params = {"q": _search_term(kept.get("q", "")), "page": kept.get("page", "")}
    params["page"] = params["page"] if params["page"].isdigit() and len(params["page"]) <= 6 else ""
    query = urlencode({k: v for k, v in params.items() if v})
    return f"{members}?{query}" if query else members


def _search_term(value: str) -> str:
    """A members search as typed, bounded, without the NUL characters PostgreSQL text cannot hold."""
    return without_nul(value).strip()[:SEARCH_MAX_LENGTH]


# --- invitations -------------------------------------------------------------------------------------------------


@action_required(Action.INVITATIONS_MANAGE)
@require_http_methods(["GET", "POST"])
def invitations(request: MemberRequest) -> HttpResponse:
    tenant = _workspace(request)
    roles = assignable_roles(_role(request))
    form = InviteForm(request.POST or None, roles=roles)
    seat_error: SeatLimitReached | None = None
    if request.method == "POST" and form.is_valid():
        try:
            result = services.invitations_create(
                tenant=tenant,
                emails=form.cleaned_data["emails"],
                role=form.cleaned_data["role"],
                acting_user=_user(request),
            )
        except NotAllowed as exc:
            return forbidden(request, exc)
        except SeatLimitReached as exc:
            seat_error = exc
        except AccountError as exc:
            form.add_error("emails", exc.message)
        else:
            _report(request, result)
            return redirect("settings_invitations")
    page = _page(request, selectors.invitation_list(tenant_id=tenant.pk), INVITATIONS_PER_PAGE)
    context = settings_context(
        request,
        "invitations",
        form=form,
        seat_error=seat_error,
        page=page,
        invitations=page.object_list,
        count=form.address_count(),
        max_age_days=settings.INVITATION_MAX_AGE_DAYS,
        seats_used=selectors.seats_used(tenant_id=tenant.pk),
        seat_limit=selectors.seat_limit(tenant_id=tenant.pk),
    )
    return render(request, "tenant/settings/invitations.html", context, status=200 if seat_error is None else 409)


def _report(request: MemberRequest, result: services.InvitationsResult) -> None:
    def listed(items: list[str]) -> str:
        more = len(items) - 5
        shown = ", ".join(items[:5])
        return _("%(shown)s and %(more)s more") % {"shown": shown, "more": more} if more > 0 else shown

    if result.sent:
        # Say what happened, not what was hoped for: the emails go out from a task (at once without a broker, a
        # moment later with one), and a sending failure must not read as "sent".
        sent = selectors.invitation_emails_sent(invitation_ids=[i.pk for i in result.sent])
        done = [i for i in result.sent if i.email in sent]
        waiting = [i for i in result.sent if i.email not in sent]
        if done:
            n = len(done)
            text = ngettext("%(n)s invitation sent: %(listed)s.", "%(n)s invitations sent: %(listed)s.", n)
            messages.success(
                request,
                text % {"n": n, "listed": listed([i.email for i in done])},
                extra_tags=_about(*(f"invitation-{i.pk}" for i in done)),
            )
        if waiting:
            n = len(waiting)
            text = ngettext(
                "%(n)s invitation not sent yet: %(listed)s. It shows as “Sending…” below until the email has gone "
                "out; use “Resend” if it stays that way.",
                "%(n)s invitations not sent yet: %(listed)s. They show as “Sending…” below until the email has gone "
                "out; use “Resend” if one stays that way.",
                n,
            )
            messages.info(
                request,
                text % {"n": n, "listed": listed([i.email for i in waiting])},
                extra_tags=_about(*(f"invitation-{i.pk}" for i in waiting)),
            )
    if result.already_members:
        n = len(result.already_members)
        text = ngettext("Already a member, nothing sent: %(listed)s.", "Already members, nothing sent: %(listed)s.", n)
        messages.info(request, text % {"listed": listed(result.already_members)})
    if result.already_invited:
        messages.info(
            request,
            _(
                "Already invited and the invitation is still valid, nothing sent: %(listed)s. "
                "Use “Resend” to send it again."
            )
            % {"listed": listed(result.already_invited)},
        )


def _invitation_action(request: MemberRequest, invitation_id: int, *, revoke: bool) -> HttpResponse:
    tenant = _workspace(request)
    try:
        invitation = selectors.invitation_get(tenant_id=tenant.pk, invitation_id=invitation_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    change = services.invitation_revoke if revoke else services.invitation_resend
    try:
        change(tenant=tenant, invitation=invitation, acting_user=_user(request))
    except NotAllowed as exc:
        return forbidden(request, exc)
    except AccountError as exc:
        messages.error(request, exc.message)
    else:
        if revoke:
            undo = reverse("settings_invitation_revoke_undo", args=[invitation.pk])
            messages.success(
                request,
                _("The invitation to %(email)s was revoked; its link no longer works.") % {"email": invitation.email},
                extra_tags=f"{UNDO_TAG}{undo}",
            )
        else:
            messages.success(
                request,
                _("A new invitation link was sent to %(email)s.") % {"email": invitation.email},
                extra_tags=_about(f"invitation-{invitation.pk}"),
            )
    return redirect("settings_invitations")


@action_required(Action.INVITATIONS_MANAGE)
@require_POST
def invitation_resend(request: MemberRequest, invitation_id: int) -> HttpResponse:
    return _invitation_action(request, invitation_id, revoke=False)


@action_required(Action.INVITATIONS_MANAGE)
@require_POST
def invitation_revoke(request: MemberRequest, invitation_id: int) -> HttpResponse:
    return _invitation_action(request, invitation_id, revoke=True)


@action_required(Action.INVITATIONS_MANAGE)
@require_POST
def invitation_revoke_undo(request: MemberRequest, invitation_id: int) -> HttpResponse:
    """The toast's "Undo" after a revoke: the same invitation is open again and its emailed link works again."""
    tenant = _workspace(request)
    try:
        invitation = selectors.invitation_get(tenant_id=tenant.pk, invitation_id=invitation_id)
        services.invitation_revoke_undo(tenant=tenant, invitation=invitation, acting_user=_user(request))
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except NotAllowed as exc:
        return forbidden(request, exc)
    except AccountError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("The invitation to %(email)s is pending again; its link works again.") % {"email": invitation.email},
            extra_tags=_about(f"invitation-{invitation.pk}"),
        )
    return redirect("settings_invitations")


# --- profile & security ------------------------------------------------------------------------------------------


@action_required(Action.SETTINGS_VIEW)
@require_http_methods(["GET", "POST"])
def profile(request: MemberRequest) -> HttpResponse:
    user = _user(request)
    form = ProfileForm(request.POST or None, initial={"name": user.name})
    if request.method == "POST" and form.is_valid():
        try:
            services.user_profile_update(user=user, name=form.cleaned_data["name"])
        except AccountError as exc:
            form.add_error("name", exc.message)
        else:
            messages.success(request, _("Your profile was saved."))
            return redirect("settings_profile")
    return _profile_page(request, form=form)


@require_POST
def preferences(request: MemberRequest) -> HttpResponse:
    """The person's language and time zone (theirs in every workspace)."""
    user = _user(request)
    form = PreferencesForm(request.POST)
    if form.is_valid():
        try:
            services.user_preferences_update(
                user=user, language=form.cleaned_data["language"], time_zone=form.cleaned_data["time_zone"]
            )
        except AccountError as exc:
            form.add_error(None, exc.message)
        else:
            with translation.override(user.language or translation.get_language()):
                messages.success(request, _("Your language and time zone were saved."))
            return redirect("settings_profile")
    return _profile_page(request, preferences_form=form, status=400)


def _profile_page(
    request: MemberRequest,
    *,
    form: ProfileForm | None = None,
    preferences_form: PreferencesForm | None = None,
    key_form: ApiKeyForm | None = None,
    new_key: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    user = _user(request)
    security = selectors.user_security_overview(user=user, current_session_key=request.session.session_key)
    for item in security["user_sessions"]:
        item["last_seen"] = _ago(item["session"].last_seen_at)
    for browser in security["browsers"]:
        browser["last_seen"] = _ago(browser["last_seen_at"])
    keys = list(selectors.api_key_list(tenant_id=_workspace(request).pk, user_id=user.pk))
    context = settings_context(
        request,
        "profile",
        form=form or ProfileForm(initial={"name": user.name}),
        preferences_form=preferences_form
        or PreferencesForm(initial={"language": user.language, "time_zone": user.time_zone}),
        key_form=key_form or ApiKeyForm(),
        api_keys=[{"key": k, "last_used": _ago(k.last_used_at) if k.last_used_at else _("Never")} for k in keys],
        new_key=new_key,
        **security,
    )
    return render(request, "tenant/settings/profile.html", context, status=status)


# --- API keys ----------------------------------------------------------------------------------------------------


@action_required(Action.API_KEYS_USE)
@require_POST
def api_key_create(request: MemberRequest) -> HttpResponse:
    """Make a key for oneself in this workspace. The secret is in this response only (never stored, never sent
    again): the page shows it once, with what to do with it."""
    form = ApiKeyForm(request.POST)
    if form.is_valid():
        try:
            key, secret = services.api_key_create(
                tenant=_workspace(request),
                name=form.cleaned_data["name"],
                scope=form.cleaned_data["scope"],
                expires_at=form.expires_at(),
                acting_user=_user(request),
            )
        except NotAllowed as exc:
            return forbidden(request, exc)
        except services.ApiKeyInvalid as exc:
            form.add_service_error(exc)
        else:
            response = _profile_page(request, new_key={"key": key, "secret": secret}, status=201)
            response["Cache-Control"] = "no-store"
            return response
    return _profile_page(request, key_form=form, status=400)


@action_required(Action.API_KEYS_MANAGE)
def api_keys(request: MemberRequest) -> HttpResponse:
    """Every key of the workspace, for its admins: who made it, its scope, when it was last used and from where."""
    page = _page(request, selectors.api_key_list(tenant_id=_workspace(request).pk), API_KEYS_PER_PAGE)
    rows = [{"key": k, "last_used": _ago(k.last_used_at) if k.last_used_at else _("Never")} for k in page.object_list]
    return render(request, "tenant/settings/api_keys.html", settings_context(request, "api_keys", page=page, rows=rows))


@action_required(Action.API_KEYS_USE)
@require_http_methods(["GET", "POST"])
def api_key_revoke(request: MemberRequest, key_id: int) -> HttpResponse:
    tenant, user = _workspace(request), _user(request)
    try:
        key = selectors.api_key_get(tenant_id=tenant.pk, key_id=key_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    if key.revoked_at is not None or (key.user_id != user.pk and not can(_role(request), Action.API_KEYS_MANAGE)):
        raise Http404("There is no such API key in this workspace.")
    back = "settings_api_keys" if request.GET.get("from") == "all" and key.user_id != user.pk else "settings_profile"
    form = ApiKeyRevokeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if form.cleaned_data["confirm_name"].strip() != key.name:
            form.add_error("confirm_name", _("Type the key's name, %(name)s, to revoke it.") % {"name": key.name})
        else:
            try:
                services.api_key_revoke(tenant=tenant, key=key, acting_user=user)
            except NotAllowed as exc:
                return forbidden(request, exc)
            except AccountError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(
                    request,
                    _("The key “%(name)s” was revoked: requests made with it are refused.") % {"name": key.name},
                )
            return redirect(reverse(back) + ("" if back == "settings_api_keys" else "#api-keys"))
    context = settings_context(
        request, "profile" if back == "settings_profile" else "api_keys", key=key, form=form, back=back
    )
    return render(request, "tenant/settings/api_key_revoke.html", context, status=400 if form.errors else 200)


@action_required(Action.SETTINGS_VIEW)
@require_POST
def sessions_end_others(request: MemberRequest) -> HttpResponse:
    ended = services.sessions_end_others(
        user=_user(request),
        current_session_key=request.session.session_key,
        tenant=_workspace(request),
    )
    if ended:
        messages.success(
            request,
            ngettext("Signed out of %(ended)s other session.", "Signed out of %(ended)s other sessions.", ended)
            % {"ended": ended},
        )
    else:
        messages.info(request, _("There were no other sessions to sign out of."))
    return redirect(reverse("settings_profile", fragment="sessions"))
