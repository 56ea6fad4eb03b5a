"""Outgoing webhooks through the API (owners and admins): endpoints, their secrets (in the answer that makes them,
only), the delivery log, resend and test events. The same services as Settings → Webhooks."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from shared_apps.accounts.permissions import Action
from tenant_apps.api import serializers as s
from tenant_apps.api.permissions import MemberWithScope, action_allowed
from tenant_apps.api.views.base import ApiViewSet, valid
from tenant_apps.webhooks import selectors, services
from tenant_apps.webhooks.models import Endpoint


def _no_store(response: Response) -> Response:
    response["Cache-Control"] = "no-store"
    return response


@extend_schema_view(
    list=extend_schema(summary="Webhook endpoints", responses=s.WebhookOut(many=True)),
    create=extend_schema(
        summary="Add a webhook endpoint",
        description="The answer carries the signing secret, once. Limited by the plan (409 `plan_limit_reached`).",
        request=s.WebhookIn,
        responses={201: s.WebhookCreated},
    ),
    retrieve=extend_schema(summary="A webhook endpoint", responses=s.WebhookOut),
    partial_update=extend_schema(summary="Change a webhook endpoint", request=s.WebhookUpdate, responses=s.WebhookOut),
    destroy=extend_schema(summary="Delete a webhook endpoint and its delivery log", responses={204: None}),
)
class WebhookViewSet(ApiViewSet):
    queryset = Endpoint.objects.none()
    filter_backends = ()
    http_method_names = ["get", "post", "patch", "delete", "head"]

    def get_permissions(self) -> list[object]:
        return [MemberWithScope(), action_allowed(Action.WEBHOOKS_MANAGE)()]

    def _endpoint(self, pk: str) -> Endpoint:
        return selectors.endpoint_get(endpoint_id=int(pk))

    def list(self, request: Request) -> Response:
        page = self.page_of(selectors.endpoint_list())
        return self.get_paginated_response(s.WebhookOut(page, many=True).data)

    def create(self, request: Request) -> Response:
        data = valid(s.WebhookIn, request)
        endpoint, secret = services.endpoint_create(tenant=self.workspace(), acting_user=request.user, **data)
        body = {**s.WebhookOut(endpoint).data, "secret": secret}
        return _no_store(Response(body, status=status.HTTP_201_CREATED))

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(s.WebhookOut(self._endpoint(pk)).data)

    def partial_update(self, request: Request, pk: str) -> Response:
        data = valid(s.WebhookUpdate, request)
        endpoint = services.endpoint_update(
            tenant=self.workspace(), endpoint=self._endpoint(pk), acting_user=request.user, **data
        )
        return Response(s.WebhookOut(endpoint).data)

    def destroy(self, request: Request, pk: str) -> Response:
        services.endpoint_delete(tenant=self.workspace(), endpoint=self._endpoint(pk), acting_user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Rotate the signing secret",
        description="The new secret is in this answer only; the previous one keeps signing for 24 hours.",
        request=None,
        responses=s.WebhookSecret,
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk: str) -> Response:
        endpoint = self._endpoint(pk)
        secret = services.endpoint_secret_rotate(tenant=self.workspace(), endpoint=endpoint, acting_user=request.user)
        return _no_store(Response({"secret": secret, "previous_valid_until": endpoint.previous_secret_expires_at}))

    @extend_schema(summary="Send a test event to this endpoint", request=None, responses={202: s.DeliveryOut})
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str) -> Response:
        delivery = services.endpoint_send_test(
            tenant=self.workspace(), endpoint=self._endpoint(pk), acting_user=request.user
        )
        return Response(s.DeliveryOut(delivery).data, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(
    list=extend_schema(summary="An endpoint's deliveries, newest first", responses=s.DeliveryOut(many=True)),
    retrieve=extend_schema(summary="A delivery, with its attempts", responses=s.DeliveryDetail),
)
class DeliveryViewSet(ApiViewSet):
    queryset = Endpoint.objects.none()
    filter_backends = ()
    http_method_names = ["get", "post", "head"]

    def get_permissions(self) -> list[object]:
        return [MemberWithScope(), action_allowed(Action.WEBHOOKS_MANAGE)()]

    def _endpoint(self) -> Endpoint:
        return selectors.endpoint_get(endpoint_id=int(self.kwargs["endpoint_id"]))

    def list(self, request: Request, endpoint_id: str) -> Response:
        deliveries = selectors.delivery_list(endpoint=self._endpoint(), status=request.query_params.get("status", ""))
        return self.get_paginated_response(s.DeliveryOut(self.page_of(deliveries), many=True).data)

    def retrieve(self, request: Request, endpoint_id: str, pk: str) -> Response:
        delivery = selectors.delivery_get(endpoint=self._endpoint(), delivery_id=int(pk))
        body = {
            **s.DeliveryOut(delivery).data,
            "attempt_log": s.AttemptOut(selectors.attempt_list(delivery=delivery), many=True).data,
        }
        return Response(body)

    @extend_schema(summary="Send a delivery again now (same webhook-id)", request=None, responses={202: s.DeliveryOut})
    @action(detail=True, methods=["post"])
    def resend(self, request: Request, endpoint_id: str, pk: str) -> Response:
        delivery = selectors.delivery_get(endpoint=self._endpoint(), delivery_id=int(pk))
        services.delivery_resend(tenant=self.workspace(), delivery=delivery, acting_user=request.user)
        delivery.refresh_from_db()
        return Response(s.DeliveryOut(delivery).data, status=status.HTTP_202_ACCEPTED)
