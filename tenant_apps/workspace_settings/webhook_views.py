"""Settings → Webhooks (owners and admins): a workspace's endpoints, their signing secrets (shown once), and each
endpoint's delivery log with "resend" and "send test event". Thin: selectors and services of tenant_apps.webhooks."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from shared_apps.accounts.decorators import action_required
from shared_apps.accounts.http import MemberRequest
from shared_apps.accounts.permissions import Action
from shared_apps.core.errors import ApplicationError
from tenant_apps.audit.events import SUBSCRIBABLE, EventType
from tenant_apps.webhooks import selectors, services
from tenant_apps.webhooks.models import Delivery, DeliveryStatus, Endpoint
from tenant_apps.workspace_settings.forms import WebhookDeleteForm, WebhookEndpointForm
from tenant_apps.workspace_settings.pages import settings_context

DELIVERIES_PER_PAGE = 50


def event_choices() -> list[tuple[str, str]]:
    """The event types an endpoint can ask for, each with what it means in the reader's language."""
    return [(t, f"{t} — {EventType(t).label}") for t in SUBSCRIBABLE]


def _fields(form: WebhookEndpointForm) -> dict[str, Any]:
    return {name: form.cleaned_data[name] for name in ("url", "event_types", "description", "enabled")}


def _endpoint(endpoint_id: int) -> Endpoint:
    try:
        return selectors.endpoint_get(endpoint_id=endpoint_id)
    except selectors.WebhookNotFound as exc:
        raise Http404(exc.message) from exc


def _list_page(
    request: MemberRequest, *, form: WebhookEndpointForm | None = None, status: int = 200, **extra: Any
) -> HttpResponse:
    endpoints = list(selectors.endpoint_list())
    form = form or WebhookEndpointForm(choices=event_choices(), initial={"enabled": True})
    context = settings_context(request, "webhooks", endpoints=endpoints, form=form, **extra)
    response = render(request, "tenant/settings/webhooks.html", context, status=status)
    if "new_secret" in extra:
        response["Cache-Control"] = "no-store"
    return response


@action_required(Action.WEBHOOKS_MANAGE)
@require_http_methods(["GET", "POST"])
def webhooks(request: MemberRequest) -> HttpResponse:
    if request.method != "POST":
        return _list_page(request)
    form = WebhookEndpointForm(request.POST, choices=event_choices())
    if form.is_valid():
        try:
            endpoint, secret = services.endpoint_create(
                tenant=request.tenant,
                acting_user=request.user,
                **_fields(form),
            )
        except ApplicationError as exc:
            form.add_service_error(exc)
        else:
            return _list_page(request, status=201, new_secret={"endpoint": endpoint, "secret": secret})
    return _list_page(request, form=form, status=400)


def _detail_page(
    request: MemberRequest,
    endpoint: Endpoint,
    *,
    form: WebhookEndpointForm | None = None,
    status: int = 200,
    new_secret: str = "",
) -> HttpResponse:
    status_filter = request.GET.get("status", "")
    page = Paginator(selectors.delivery_list(endpoint=endpoint, status=status_filter), DELIVERIES_PER_PAGE).get_page(
        request.GET.get("page")
    )
    form = form or WebhookEndpointForm(
        choices=event_choices(),
        initial={
            "url": endpoint.url,
            "description": endpoint.description,
            "event_types": endpoint.event_types,
            "enabled": endpoint.enabled,
        },
    )
    context = settings_context(
        request,
        "webhooks",
        endpoint=endpoint,
        form=form,
        page=page,
        status_filter=status_filter,
        statuses=DeliveryStatus.choices,
        new_secret=new_secret,
        rotating=bool(services.secrets_signing(endpoint)[1:]),
    )
    response = render(request, "tenant/settings/webhook.html", context, status=status)
    if new_secret:
        response["Cache-Control"] = "no-store"
    return response


@action_required(Action.WEBHOOKS_MANAGE)
@require_http_methods(["GET", "POST"])
def webhook(request: MemberRequest, endpoint_id: int) -> HttpResponse:
    endpoint = _endpoint(endpoint_id)
    if request.method != "POST":
        return _detail_page(request, endpoint)
    form = WebhookEndpointForm(request.POST, choices=event_choices())
    if form.is_valid():
        try:
            services.endpoint_update(
                tenant=request.tenant,
                endpoint=endpoint,
                acting_user=request.user,
                **_fields(form),
            )
        except ApplicationError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("The endpoint was saved."))
            return redirect("settings_webhook", endpoint_id=endpoint.pk)
    return _detail_page(request, endpoint, form=form, status=400)


@action_required(Action.WEBHOOKS_MANAGE)
@require_POST
def webhook_rotate(request: MemberRequest, endpoint_id: int) -> HttpResponse:
    endpoint = _endpoint(endpoint_id)
    secret = services.endpoint_secret_rotate(tenant=request.tenant, endpoint=endpoint, acting_user=request.user)
    return _detail_page(request, endpoint, new_secret=secret)


@action_required(Action.WEBHOOKS_MANAGE)
@require_POST
def webhook_test(request: MemberRequest, endpoint_id: int) -> HttpResponse:
    endpoint = _endpoint(endpoint_id)
    delivery = services.endpoint_send_test(tenant=request.tenant, endpoint=endpoint, acting_user=request.user)
    messages.success(request, _("A test event was sent: its delivery is at the top of the log."))
    return redirect("settings_webhook_delivery", endpoint_id=endpoint.pk, delivery_id=delivery.pk)


@action_required(Action.WEBHOOKS_MANAGE)
@require_http_methods(["GET", "POST"])
def webhook_delete(request: MemberRequest, endpoint_id: int) -> HttpResponse:
    endpoint = _endpoint(endpoint_id)
    form = WebhookDeleteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if form.cleaned_data["confirm_url"].strip() != endpoint.url:
            form.add_error("confirm_url", _("Type the endpoint's URL exactly to delete it."))
        else:
            services.endpoint_delete(tenant=request.tenant, endpoint=endpoint, acting_user=request.user)
            messages.success(
                request, _("The endpoint %(url)s was deleted: no more events go to it.") % {"url": endpoint.url}
            )
            return redirect("settings_webhooks")
    context = settings_context(request, "webhooks", endpoint=endpoint, form=form)
    return render(request, "tenant/settings/webhook_delete.html", context, status=400 if form.errors else 200)


def _delivery(endpoint: Endpoint, delivery_id: int) -> Delivery:
    try:
        return selectors.delivery_get(endpoint=endpoint, delivery_id=delivery_id)
    except selectors.WebhookNotFound as exc:
        raise Http404(exc.message) from exc


@action_required(Action.WEBHOOKS_MANAGE)
def webhook_delivery(request: MemberRequest, endpoint_id: int, delivery_id: int) -> HttpResponse:
    endpoint = _endpoint(endpoint_id)
    delivery = _delivery(endpoint, delivery_id)
    attempts = list(selectors.attempt_list(delivery=delivery))
    body = services.body_of(delivery.event).decode()
    context = settings_context(request, "webhooks", endpoint=endpoint, delivery=delivery, attempts=attempts, body=body)
    return render(request, "tenant/settings/webhook_delivery.html", context)


@action_required(Action.WEBHOOKS_MANAGE)
@require_POST
def webhook_resend(request: MemberRequest, endpoint_id: int, delivery_id: int) -> HttpResponse:
    endpoint = _endpoint(endpoint_id)
    delivery = _delivery(endpoint, delivery_id)
    services.delivery_resend(tenant=request.tenant, delivery=delivery, acting_user=request.user)
    messages.success(request, _("The delivery was sent again."))
    return redirect(reverse("settings_webhook_delivery", args=[endpoint.pk, delivery.pk]))
