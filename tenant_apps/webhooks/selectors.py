"""Reading a workspace's webhook endpoints and delivery log. Runs in the workspace's schema: an id from another
workspace is simply not found."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from shared_apps.core.errors import ApplicationError
from tenant_apps.webhooks.models import Attempt, Delivery, DeliveryStatus, Endpoint


class WebhookNotFound(ApplicationError):
    pass


def endpoint_list() -> QuerySet[Endpoint]:
    """Every endpoint with its counts of deliveries pending and failed (one query)."""
    return Endpoint.objects.annotate(
        pending_count=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.PENDING)),
        failed_count=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.FAILED)),
    ).order_by("created_at", "id")


def endpoint_get(*, endpoint_id: int) -> Endpoint:
    endpoint = Endpoint.objects.filter(pk=endpoint_id).first()
    if endpoint is None:
        raise WebhookNotFound(_("There is no such webhook endpoint in this workspace."))
    return endpoint


def delivery_list(*, endpoint: Endpoint, status: str = "") -> QuerySet[Delivery]:
    """The endpoint's deliveries, newest first, with their events."""
    deliveries = Delivery.objects.filter(endpoint=endpoint).select_related("event")
    if status in DeliveryStatus.values:
        deliveries = deliveries.filter(status=status)
    return deliveries.order_by("-created_at", "-id")


def delivery_get(*, endpoint: Endpoint, delivery_id: int) -> Delivery:
    delivery = Delivery.objects.filter(endpoint=endpoint, pk=delivery_id).select_related("event", "endpoint").first()
    if delivery is None:
        raise WebhookNotFound(_("There is no such delivery for this endpoint."))
    return delivery


def attempt_list(*, delivery: Delivery) -> QuerySet[Attempt]:
    return Attempt.objects.filter(delivery=delivery).order_by("-started_at", "-id")
