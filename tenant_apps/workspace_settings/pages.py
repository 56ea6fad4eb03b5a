"""What every settings page shares: the template context (the section shown, what the viewer's role allows) and the
refusal page. Imported by each module of views; no view imports another."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render

from shared_apps.accounts.http import MemberRequest
from shared_apps.accounts.permissions import NotAllowed, allowed_actions


def settings_context(request: MemberRequest, section: str, **extra: object) -> dict[str, object]:
    """The context of a settings page: its `section` (the tab shown), what the viewer's role `allowed`, and `extra`."""
    return {"section": section, "allowed": {str(a) for a in allowed_actions(request.membership.role)}, **extra}


def forbidden(request: MemberRequest, exc: NotAllowed) -> HttpResponse:
    return render(request, "tenant/settings/forbidden.html", {"reason": exc.message}, status=403)
