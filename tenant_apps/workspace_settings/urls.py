"""/settings/ on a workspace host."""

from django.urls import path

from tenant_apps.workspace_settings import audit_views, billing_views, identity_views, views, workspace_views

urlpatterns = [
    path("", workspace_views.general, name="settings_general"),
    path("leave/", views.leave, name="settings_leave"),
    path("rename/", workspace_views.rename, name="settings_rename"),
    path("subdomain/", workspace_views.subdomain, name="settings_subdomain"),
    path("domains/", workspace_views.domains, name="settings_domains"),
    path("domains/remove/", workspace_views.domain_remove, name="settings_domain_remove"),
    path("domains/check/", workspace_views.domain_check, name="settings_domain_check"),
    path("delete/", workspace_views.delete, name="settings_delete"),
    path("members/", views.members, name="settings_members"),
    path("members/<int:membership_id>/role/", views.member_role, name="settings_member_role"),
    path("members/<int:membership_id>/remove/", views.member_remove, name="settings_member_remove"),
    path("members/<int:membership_id>/transfer/", views.member_transfer, name="settings_member_transfer"),
    path("invitations/", views.invitations, name="settings_invitations"),
    path("invitations/<int:invitation_id>/resend/", views.invitation_resend, name="settings_invitation_resend"),
    path("invitations/<int:invitation_id>/revoke/", views.invitation_revoke, name="settings_invitation_revoke"),
    path(
        "invitations/<int:invitation_id>/revoke/undo/",
        views.invitation_revoke_undo,
        name="settings_invitation_revoke_undo",
    ),
    path("billing/", billing_views.billing, name="settings_billing"),
    path("billing/plan/", billing_views.billing_plan, name="settings_billing_plan"),
    path("billing/portal/", billing_views.billing_portal, name="settings_billing_portal"),
    path("audit/", audit_views.audit_log, name="audit_log"),
    path("audit/export.csv", audit_views.audit_export, name="audit_export"),
    path("profile/", views.profile, name="settings_profile"),
    path("profile/sessions/end-others/", views.sessions_end_others, name="settings_sessions_end_others"),
    path("profile/api-keys/", views.api_key_create, name="settings_api_key_create"),
    path("api-keys/", views.api_keys, name="settings_api_keys"),
    path("api-keys/<int:key_id>/revoke/", views.api_key_revoke, name="settings_api_key_revoke"),
    path("sso/", identity_views.sso, name="settings_sso"),
    path("sso/domains/", identity_views.domain_add, name="settings_sso_domain_add"),
    path("sso/domains/<int:domain_id>/check/", identity_views.domain_check, name="settings_sso_domain_check"),
    path("sso/domains/<int:domain_id>/remove/", identity_views.domain_remove, name="settings_sso_domain_remove"),
    path("sso/policy/", identity_views.policy, name="settings_sso_policy"),
    path("sso/connection/", identity_views.connection_save, name="settings_sso_connection"),
    path("sso/connection/remove/", identity_views.connection_remove, name="settings_sso_connection_remove"),
    path("sso/scim-tokens/", identity_views.scim_token_create, name="settings_sso_scim_token_create"),
    path(
        "sso/scim-tokens/<int:token_id>/revoke/",
        identity_views.scim_token_revoke,
        name="settings_sso_scim_token_revoke",
    ),
]
