"""Views of a workspace's settings: who may open them is read from the permission matrix."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import render

from shared_apps.accounts.permissions import Action, can

View = Callable[..., HttpResponseBase]


def action_required(action: Action) -> Callable[[View], View]:
    """Signed in (else the workspace's sign-in page), a member of this workspace (the membership middleware already
    answers 403 to everyone else), and a role that may take `action` (else a 403 page; nothing is done)."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            membership = getattr(request, "membership", None)
            if membership is None:
                raise Http404
            if not can(membership.role, action):
                return render(request, "tenant/settings/forbidden.html", {"action": action}, status=403)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
