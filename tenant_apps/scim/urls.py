"""/scim/v2/ on a workspace host (RFC 7644): discovery, Users, Groups; anything else under /scim/ is a SCIM 404."""

from __future__ import annotations

from django.urls import path, re_path

from tenant_apps.scim import views

urlpatterns = [
    path("v2/ServiceProviderConfig", views.service_provider_config, name="scim-spc"),
    path("v2/ResourceTypes", views.resource_types, name="scim-resource-types"),
    path("v2/ResourceTypes/<str:name>", views.resource_type, name="scim-resource-type"),
    path("v2/Schemas", views.schemas, name="scim-schemas"),
    path("v2/Schemas/<str:schema_id>", views.schema, name="scim-schema"),
    path("v2/Users", views.users, name="scim-users"),
    path("v2/Users/<str:scim_id>", views.user, name="scim-user"),
    path("v2/Groups", views.groups, name="scim-groups"),
    path("v2/Groups/<str:scim_id>", views.group, name="scim-group"),
    re_path(r"^.*$", views.unknown, name="scim-unknown"),
]
