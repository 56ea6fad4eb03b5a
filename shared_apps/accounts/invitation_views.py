"""Accepting an invitation. The emailed link points at the root domain, where accounts live: sign-up is open there
(it is closed on workspace hosts) and a signed-in root session can join at once. After joining, the person is
handed to the workspace's host with a login handoff (shared_apps/accounts/handoff.py), so they land in it signed in.

A workspace host answers `/invitations/<token>/` too (someone may type the workspace's address): its own
invitations are sent on to the root, anything else gets "not for this workspace".
"""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from shared_apps.accounts.errors import AccountError, InvitationUnusable
from shared_apps.accounts.handoff import HandoffRefused, handoff_start_url
from shared_apps.accounts.models import Invitation, User
from shared_apps.accounts.selectors import (
    invitation_find_by_token,
    invitation_replaced_by_token,
    membership_for,
    user_has_verified_email,
)
from shared_apps.accounts.services import invitation_accept, invitation_accept_new_account, invitation_check
from tenants.http import RoutedRequest
from tenants.links import public_path
from tenants.selectors import primary_domain, root_url


def _unusable(request: HttpRequest, exc: InvitationUnusable, invitation: Invitation | None) -> HttpResponse:
    context: dict[str, object] = {"error": exc, "reason": exc.reason}
    if invitation is not None and exc.reason != "invalid":
        context["invitation"] = invitation
        user = request.user
        if user.is_authenticated and membership_for(user_id=user.pk, tenant_id=invitation.tenant_id) is not None:
            domain = primary_domain(invitation.tenant)
            context["open_url"] = (
                reverse("workspace_open", kwargs={"slug": domain.slug}) if domain and domain.slug else None
            )
    return render(request, "invitations/unusable.html", context, status=exc.status)


class NewAccountForm(forms.Form):
    """The invited person's new account: the address is the invitation's (the link proves it), so only a name and a
    password. Password rules are checked once, by the service (Django's validators)."""

    name = forms.CharField(
        label=_("Your name"),
        max_length=150,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "name", "placeholder": "Ada Lovelace"}),
    )
    password = forms.CharField(
        label=_("Choose a password"),
        max_length=4096,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 10 characters; a phrase of a few words is easy to remember and hard to guess."),
    )


def _join(request: HttpRequest, user: User, invitation: Invitation) -> HttpResponse:
    """In the workspace, signed in there: the handoff from this (root) session to the workspace's host."""
    try:
        return HttpResponseRedirect(handoff_start_url(user=user, tenant=invitation.tenant))
    except HandoffRefused:  # joined, but the workspace has no address right now
        return redirect("workspaces")


@never_cache
@require_http_methods(["GET", "POST"])
def invitation_landing(request: HttpRequest, token: str) -> HttpResponse:
    """Root domain: who invited you to what, then (one pass) set a password and land in the workspace; or sign in
    with an existing account / use the current session, and join in one click."""
    invitation = invitation_find_by_token(token=token)
    replaced = False
    if invitation is None:
        invitation = invitation_replaced_by_token(token=token)
        replaced = invitation is not None
    try:
        invitation = invitation_check(invitation, replaced=replaced)
    except InvitationUnusable as exc:
        return _unusable(request, exc, invitation)
    here = request.path
    context: dict[str, object] = {"invitation": invitation, "path": here}
    if not request.user.is_authenticated:
        form = NewAccountForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                invitation_accept_new_account(
                    token=token, password=form.cleaned_data["password"], name=form.cleaned_data["name"]
                )
            except InvitationUnusable as exc:
                if exc.reason != "account_exists":
                    return _unusable(request, exc, invitation)
                form.add_error(None, exc.message)
            except AccountError as exc:
                form.add_error("password" if "password" in exc.message.lower() else "name", exc.message)
            else:
                joined = User.objects.get(email=invitation.email)
                login(request, joined, backend="django.contrib.auth.backends.ModelBackend")
                return _join(request, joined, invitation)
        context.update(
            form=form,
            login_url=reverse("login") + "?" + urlencode({"next": here}),
        )
        return render(request, "invitations/accept.html", context, status=400 if form.errors else 200)
    user: User = request.user
    if not user_has_verified_email(user=user, email=invitation.email):
        return render(request, "invitations/wrong_email.html", context, status=403)
    if request.method == "POST":
        try:
            invitation_accept(token=token, user=user)
        except InvitationUnusable as exc:
            return _unusable(request, exc, invitation)
        return _join(request, user, invitation)
    return render(request, "invitations/accept.html", context)


@never_cache
@require_GET
def invitation_on_workspace_host(request: RoutedRequest, token: str) -> HttpResponse:
    """Workspace host: this workspace's invitations continue on the root; others are not this host's business."""
    invitation = invitation_find_by_token(token=token)
    if invitation is None or invitation.tenant_id != request.route.tenant_id:
        exc = InvitationUnusable(
            gettext("This invitation isn't for this workspace."), reason="other_workspace", status=404
        )
        return render(request, "invitations/unusable.html", {"error": exc, "reason": exc.reason}, status=404)
    return HttpResponseRedirect(root_url() + public_path("invitation_landing", token=token))
