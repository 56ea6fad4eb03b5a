"""The live stream (Server-Sent Events) on a workspace host: /live/stream/ for the viewer's bell, and
/live/projects/<id>/stream/ for a board or task page (the bell too). Thin: the permission checks run here (a project
the viewer may not see is "not found"), then the stream is handed to the server: an async iterator under ASGI
(uvicorn), a generator under WSGI (the development server). The request's database connection is given back before
the stream starts."""

from __future__ import annotations

from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db import connection
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.views.decorators.http import require_GET

from shared_apps.accounts.http import MemberRequest
from tenant_apps.live.services import MAX_SECONDS, StreamScope, stream_async, stream_sync
from tenant_apps.projects import selectors as project_selectors
from tenant_apps.projects.permissions import ProjectAccess, ProjectNotFound, Viewer


@require_GET
def live_stream(request: MemberRequest, project_id: int | None = None) -> HttpResponse | StreamingHttpResponse:
    if not request.user.is_authenticated:
        return HttpResponse("Sign in to follow live updates.", status=403, content_type="text/plain")
    if getattr(request, "membership", None) is None:
        raise Http404
    project = None
    if project_id is not None:
        access = ProjectAccess(Viewer.of_membership(request.membership, request.user))
        try:
            project = project_selectors.project_get_for_user(access.viewer, project_id, access)
        except ProjectNotFound as exc:
            raise Http404 from exc
    scope = StreamScope.for_request(user=request.user, project=project)
    if not connection.in_atomic_block:
        connection.close()  # a stream may stay open for minutes: it holds no database connection meanwhile
    seconds = float(getattr(settings, "LIVE_STREAM_MAX_SECONDS", MAX_SECONDS))
    body = (
        stream_async(scope, max_seconds=seconds)
        if isinstance(request, ASGIRequest)
        else stream_sync(scope, max_seconds=seconds)
    )
    response = StreamingHttpResponse(body, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response
