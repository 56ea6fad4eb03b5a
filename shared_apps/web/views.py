"""Pages of the root domain that belong to no other app, and the "too many requests" page every host shares."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from billing.plans import PLANS, TRIAL_PLAN, Resource
from shared_apps.accounts.ratelimits import in_words, retry_after_for_request
from shared_apps.core.api import error_response, is_api_path


def landing(request: HttpRequest) -> HttpResponse:
    # The copy about billing quotes the plans themselves, so it stays true when they change.
    context = {
        "free_seats": PLANS["free"].limits[Resource.SEATS].value,
        "trial_days": PLANS[TRIAL_PLAN].trial_days,
    }
    return render(request, "public/landing.html", context)


def too_many_requests(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Every 429 of the site's pages (allauth's limits call it through `handler429`): when to try again, and a way
    forward that needs no waiting."""
    seconds = retry_after_for_request(request)
    response: HttpResponse
    if is_api_path(request.path):
        response = error_response(status=429, code="rate_limited", message=_("Too many requests; try again later."))
    else:
        context = {
            "retry": in_words(seconds),
            "signing_up": request.path.startswith(("/accounts/signup/", "/accounts/confirm-email/", "/signup/")),
        }
        response = render(request, "429.html", context, status=429)
    if seconds:
        response["Retry-After"] = str(seconds)
    return response
