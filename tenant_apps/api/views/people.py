"""The workspace's people: members (everyone reads; admins change roles), invitations (admins), and `me`. Who may do
what is the accounts permission matrix, checked by a permission class here and again by the service."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from shared_apps.accounts import selectors, services
from shared_apps.accounts.errors import NotFound
from shared_apps.accounts.models import Invitation, Membership
from shared_apps.accounts.permissions import Action, allowed_actions, can
from tenant_apps.api import serializers as s
from tenant_apps.api.filters import MemberFilter, Ordering
from tenant_apps.api.permissions import MemberWithScope, action_allowed
from tenant_apps.api.views.base import ApiViewSet, valid


@extend_schema_view(
    list=extend_schema(summary="The workspace's members", responses=s.MemberOut(many=True)),
    retrieve=extend_schema(summary="A member", responses=s.MemberOut),
    partial_update=extend_schema(
        summary="Change a member's role",
        description="Owners and admins; only owners make or change owners; the last owner keeps the role.",
        request=s.MemberUpdate,
        responses=s.MemberOut,
    ),
    destroy=extend_schema(
        summary="Remove a member from the workspace",
        description="Owners and admins; only owners remove owners; nobody removes the last owner, or themselves "
        "(see `leave`). Their project grants and API keys stop at once.",
        responses={204: None},
    ),
)
class MemberViewSet(ApiViewSet):
    queryset = Membership.objects.none()
    filterset_class = MemberFilter
    search_fields = ("user__email", "user__name")
    ordering_fields = ("created_at",)
    ordering = ("id",)
    http_method_names = ["get", "post", "patch", "delete", "head"]
    ACTIONS = {
        "partial_update": Action.MEMBERS_CHANGE_ROLE,
        "destroy": Action.MEMBERS_REMOVE,
        "leave": Action.MEMBERS_LEAVE,
        "transfer_ownership": Action.OWNERSHIP_TRANSFER,
    }

    def get_permissions(self) -> list[object]:
        action_needed = self.ACTIONS.get(str(self.action), Action.MEMBERS_VIEW)
        return [MemberWithScope(), action_allowed(action_needed)()]

    def _context(self) -> dict[str, object]:
        return {"show_security": can(self.caller.role, Action.MEMBERS_VIEW_SECURITY)}

    def _one(self, membership_id: int) -> Response:
        membership = selectors.member_list(tenant_id=self.workspace_id()).filter(pk=membership_id).first()
        if membership is None:
            raise NotFound(_("There is no such member in this workspace."))
        return Response(s.MemberOut(membership, context=self._context()).data)

    def list(self, request: Request) -> Response:
        page = self.page_of(selectors.member_list(tenant_id=self.workspace_id()))
        return self.get_paginated_response(s.MemberOut(page, many=True, context=self._context()).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return self._one(int(pk))

    def partial_update(self, request: Request, pk: str) -> Response:
        data = valid(s.MemberUpdate, request)
        membership = selectors.membership_get(tenant_id=self.workspace_id(), membership_id=int(pk))
        services.member_role_change(
            tenant=self.workspace(), membership=membership, role=data["role"], acting_user=request.user
        )
        return self._one(membership.pk)

    def destroy(self, request: Request, pk: str) -> Response:
        membership = selectors.membership_get(tenant_id=self.workspace_id(), membership_id=int(pk))
        services.member_remove(tenant=self.workspace(), membership=membership, acting_user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Leave the workspace yourself",
        description="Your membership, your project grants and every API key you have here (this one too) end. The "
        "last owner cannot leave (409): make someone else an owner first.",
        request=None,
        responses={204: None},
    )
    @action(detail=False, methods=["post"])
    def leave(self, request: Request) -> Response:
        services.member_leave(tenant=self.workspace(), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Hand the workspace to another member",
        description="Owners only: they become an owner and you an admin, in one step.",
        request=None,
        responses=s.MemberOut,
    )
    @action(detail=True, methods=["post"], url_path="transfer-ownership")
    def transfer_ownership(self, request: Request, pk: str) -> Response:
        membership = selectors.membership_get(tenant_id=self.workspace_id(), membership_id=int(pk))
        services.ownership_transfer(tenant=self.workspace(), membership=membership, acting_user=request.user)
        return self._one(membership.pk)


@extend_schema_view(
    list=extend_schema(
        summary="Open invitations (pending and expired), newest first", responses=s.InvitationOut(many=True)
    ),
    create=extend_schema(
        summary="Invite people",
        description="Each address gets its own email. Members and still-valid invitations are reported back and "
        "left alone; expired ones are sent again. All or nothing on seats (409 when they would not fit).",
        request=s.InvitationCreate,
        responses={201: s.InvitationsCreated},
    ),
    retrieve=extend_schema(summary="An invitation", responses=s.InvitationOut),
    destroy=extend_schema(summary="Revoke an invitation (its link stops working)", responses={204: None}),
)
class InvitationViewSet(ApiViewSet):
    queryset = Invitation.objects.none()
    filter_backends = (Ordering,)
    ordering_fields = ("created_at", "expires_at")
    ordering = ("-created_at", "-id")
    http_method_names = ["get", "post", "delete", "head"]

    def get_permissions(self) -> list[object]:
        action_needed = Action.MEMBERS_INVITE if self.action == "create" else Action.INVITATIONS_MANAGE
        return [MemberWithScope(), action_allowed(action_needed)()]

    def list(self, request: Request) -> Response:
        page = self.page_of(selectors.invitation_list(tenant_id=self.workspace_id()))
        return self.get_paginated_response(s.InvitationOut(page, many=True).data)

    def create(self, request: Request) -> Response:
        data = valid(s.InvitationCreate, request)
        result = services.invitations_create(
            tenant=self.workspace(), emails=data["emails"], role=data["role"], acting_user=request.user
        )
        sent = Invitation.objects.filter(pk__in=[i.pk for i in result.sent]).select_related("invited_by")
        body = {
            "sent": s.InvitationOut(sent.order_by("email"), many=True).data,
            "already_members": result.already_members,
            "already_invited": result.already_invited,
        }
        return Response(body, status=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, pk: str) -> Response:
        invitation = selectors.invitation_get(tenant_id=self.workspace_id(), invitation_id=int(pk))
        return Response(s.InvitationOut(invitation).data)

    def destroy(self, request: Request, pk: str) -> Response:
        invitation = selectors.invitation_get(tenant_id=self.workspace_id(), invitation_id=int(pk))
        services.invitation_revoke(tenant=self.workspace(), invitation=invitation, acting_user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(summary="Send an invitation again, with a new link", request=None, responses=s.InvitationOut)
    @action(detail=True, methods=["post"])
    def resend(self, request: Request, pk: str) -> Response:
        invitation = selectors.invitation_get(tenant_id=self.workspace_id(), invitation_id=int(pk))
        resent = services.invitation_resend(tenant=self.workspace(), invitation=invitation, acting_user=request.user)
        return Response(s.InvitationOut(resent).data)


class MeViewSet(ApiViewSet):
    pagination_class = None
    filter_backends = ()
    http_method_names = ["get", "head"]

    @extend_schema(summary="Who you are here: your account, role, workspace and how you signed in", responses=s.Me)
    def retrieve(self, request: Request) -> Response:
        caller = self.caller
        route = request._request.route
        body = {
            "user": s.Person(request.user).data,
            "role": caller.role,
            "workspace": {"name": route.name, "host": route.primary_host},
            "auth": {"method": caller.method, "scope": caller.scope, "key_prefix": caller.key_prefix},
            "allowed_actions": sorted(str(a) for a in allowed_actions(caller.role)),
        }
        return Response(body)
