"""Notifications pages on a workspace host: the list (/notifications/), the bell's count (a fragment the page asks
for, and asks again when the live stream says it changed), mark read, mark all read, follow a task.

Thin: parse, call a selector or a service, render. Only the viewer's own notifications are ever found; another
person's (or another workspace's) id is "not found".
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from shared_apps.accounts.http import MemberRequest, member_required
from shared_apps.core.text import has_control_characters
from tenant_apps.notifications import selectors, services
from tenant_apps.notifications.emails import DIGEST, headline_html, unsubscribe_read
from tenant_apps.notifications.models import Delivery, Notification, NotificationKind
from tenant_apps.projects import selectors as project_selectors
from tenant_apps.projects.permissions import ProjectAccess, ProjectNotAllowed, ProjectNotFound, Viewer
from tenants.db import connection

PER_PAGE = 30


signed_in_member = member_required(not_found=(Notification.DoesNotExist, ProjectNotFound, ProjectNotAllowed))


def _viewer(request: MemberRequest) -> Viewer:
    return Viewer.of_membership(request.membership, request.user)


def target_url(notification: Notification) -> str:
    if notification.task_id is not None and notification.project_id is not None:
        return reverse("task_detail", args=[notification.project_id, notification.task_id])
    if notification.kind == "invitation_accepted":
        return reverse("settings_members")
    return reverse("notifications")


@require_GET
@signed_in_member
def notification_list(request: MemberRequest) -> HttpResponse:
    viewer = _viewer(request)
    show_unread = request.GET.get("show") == "unread"
    notifications = selectors.notifications_for(viewer)
    if show_unread:
        notifications = notifications.filter(read_at__isnull=True)
    page = Paginator(notifications, PER_PAGE).get_page(request.GET.get("page"))
    rows = [(n, headline_html(n, target_url(n))) for n in page.object_list]
    context = {"page": page, "rows": rows, "show_unread": show_unread, "unread": selectors.unread_count(viewer)}
    return render(request, "tenant/notifications/list.html", context)


@require_GET
@signed_in_member
def notification_bell(request: MemberRequest) -> HttpResponse:
    """The bell's count: a fragment (one query)."""
    return render(request, "tenant/notifications/_bell.html", {"unread": selectors.unread_count(_viewer(request))})


def _back(request: HttpRequest, default: str) -> str:
    """A path on this host to go back to (the form's `next`), or `default`: nothing else is followed."""
    target = request.POST.get("next", "")
    if (
        target.startswith("/")
        and not has_control_characters(target)
        and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure())
    ):
        return target
    return default


@require_POST
@signed_in_member
def notification_read(request: MemberRequest, notification_id: int) -> HttpResponse:
    notification = selectors.notification_get(_viewer(request), notification_id)
    services.notification_mark_read(notification=notification, acting_user=request.user)
    return HttpResponseRedirect(_back(request, target_url(notification)))


@require_POST
@signed_in_member
def notifications_read_all(request: MemberRequest) -> HttpResponse:
    services.notifications_mark_all_read(acting_user=request.user)
    return HttpResponseRedirect(_back(request, reverse("notifications")))


@require_POST
@signed_in_member
def task_follow(request: MemberRequest, project_id: int, task_id: int) -> HttpResponse:
    access = ProjectAccess(_viewer(request))
    project = project_selectors.project_get_for_user(access.viewer, project_id, access)
    task = project_selectors.task_get(project, task_id)
    services.task_follow_set(task=task, follow=request.POST.get("follow") == "1", acting_user=request.user)
    return HttpResponseRedirect(_back(request, reverse("task_detail", args=[project.pk, task.pk])))


@signed_in_member
def notification_preferences(request: MemberRequest) -> HttpResponse:
    """Email preferences, one choice per kind (the bell and the page list everything whatever is chosen here)."""
    if request.method == "POST":
        services.preferences_set(
            acting_user=request.user, choices={kind: request.POST.get(kind, "") for kind in NotificationKind.values}
        )
        messages.success(request, _("Saved: your email preferences for notifications."))
        return redirect("notification_preferences")
    chosen = selectors.preferences_for(request.user)
    rows = [(kind, label, chosen[kind]) for kind, label in NotificationKind.choices]
    context = {
        "rows": rows,
        "deliveries": Delivery.choices,
        "zone": request.user.time_zone or "UTC",  # the account's (set on the profile), as the daily run reads it
    }
    return render(request, "tenant/notifications/preferences.html", context)


@csrf_exempt  # the signed token is the proof (mail clients POST it with no cookie: RFC 8058's one click)
def notification_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET: a page with one button; POST: that kind of email stops, for the token's person, in this workspace."""
    found = unsubscribe_read(token, schema=connection.schema_name)
    if found is None:
        raise Http404
    label = _("The daily digest") if found.kind == DIGEST else NotificationKind(found.kind).label
    if request.method == "POST":
        services.unsubscribe_apply(user_id=found.user_id, kind=found.kind)
        return render(request, "tenant/notifications/unsubscribed.html", {"label": label, "done": True})
    return render(request, "tenant/notifications/unsubscribed.html", {"label": label, "done": False})


@require_GET
@signed_in_member
def mention_complete(request: MemberRequest, project_id: int) -> JsonResponse:
    """The comment box's @-completion: members who may see the project, by the start of a handle or name."""
    access = ProjectAccess(_viewer(request))
    project = project_selectors.project_get_for_user(access.viewer, project_id, access)
    found = selectors.mention_candidates(
        project=project, tenant_id=request.membership.tenant_id, query=request.GET.get("q", "")[:64]
    )
    return JsonResponse({"results": [{"handle": handle, "name": name} for handle, name in found]})
