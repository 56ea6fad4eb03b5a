"""The branded error pages in development too.

With `DEBUG` on, Django answers a missing page or an uncaught error with its technical page (the URL patterns, the
traceback). A newcomer running `make run` should meet the pages visitors meet, so this middleware answers with the
site's own handlers (`shared_apps.core.api`) unless the technical page is asked for: the `TECHNICAL_ERROR_PAGES`
setting (environment variable of the same name), or `?technical=1` on the address. With `DEBUG` off it does nothing:
Django already calls the handlers.

Two sources of a technical page are covered: an exception raised by a view (`process_exception`, the last middleware
to see it, so the first asked) and an address no URL pattern matches (the resolver's 404, noticed after the fact by
resolving the path again). The error is still logged with its traceback, as Django logs it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import Resolver404, get_resolver

from shared_apps.core import api

logger = logging.getLogger("django.request")

TECHNICAL_QUERY_FLAG = "technical"


def technical_page_wanted(request: HttpRequest) -> bool:
    """Branded unless DEBUG is off (nothing to replace) or the technical page was asked for."""
    if not settings.DEBUG:
        return True
    if settings.TECHNICAL_ERROR_PAGES:
        return True
    return request.GET.get(TECHNICAL_QUERY_FLAG, "") == "1"


def unresolvable(request: HttpRequest) -> bool:
    try:
        get_resolver(getattr(request, "urlconf", None)).resolve(request.path_info)
    except Resolver404:
        return True
    return False


class BrandedErrorPagesMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code != 404 or technical_page_wanted(request):
            return response
        if unresolvable(request):
            return api.handler404(request, Http404(request.path_info))
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if technical_page_wanted(request):
            return None
        if isinstance(exception, Http404):
            return api.handler404(request, exception)
        if isinstance(exception, (PermissionDenied, SuspiciousOperation, BadRequest)):
            return None  # Django answers these with the handlers already, DEBUG or not
        logger.error("Internal Server Error: %s", request.path, exc_info=exception)
        return api.handler500(request)
