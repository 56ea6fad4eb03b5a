"""URLs of a workspace host (<slug>.<BASE_DOMAIN> or a custom domain). There is no /admin/ and no sign-up here;
social login runs on the root domain (one OAuth callback URL per provider) and comes back through /auth/handoff/.
The workspace's API is /api/v1/, its OpenAPI document /api/schema/ and its docs page /api/docs/; SCIM is /scim/v2/."""

from allauth.account import views as allauth_views
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog, set_language

from shared_apps.accounts import invitation_views
from shared_apps.accounts import views as account_views
from shared_apps.operators import views as operator_views
from shared_apps.sso import saml_views
from tenant_apps.api import urls as api_urls
from tenant_apps.projects import views as project_views
from tenant_apps.workspace_settings import workspace_views as workspace_settings_views

urlpatterns = [
    path("", project_views.home, name="home"),
    # The scripts' strings in the page's language (static/js/*.js call gettext), and the footer's language switcher.
    path("i18n/js/", JavaScriptCatalog.as_view(), name="javascript_catalog"),
    path("i18n/language/", set_language, name="set_language"),
    path("i18n/time-zone/", account_views.time_zone_detect, name="time_zone_detect"),
    path("login/", allauth_views.login, name="login"),
    path("logout/", allauth_views.logout, name="logout"),
    path("logout/everywhere/", account_views.logout_everywhere, name="logout_everywhere"),
    path("switch/", account_views.workspace_switcher, name="workspace_switcher"),
    path("auth/start/", account_views.handoff_start, name="handoff_start"),
    path("auth/handoff/", account_views.handoff_consume, name="handoff_consume"),
    # An operator signing in as a member (impersonation): the same browser-bound handoff, its own kind of ticket.
    path("auth/impersonate/start/", operator_views.impersonation_start, name="impersonation_start"),
    path("auth/impersonate/", operator_views.impersonation_consume, name="impersonation_consume"),
    path("impersonation/end/", operator_views.impersonation_end, name="impersonation_end"),
    path("restore/", workspace_settings_views.restore, name="tenant_restore"),
    path("accounts/", include("allauth.account.urls")),
    path("accounts/2fa/", include("allauth.mfa.urls")),
    path("accounts/sessions/", include("allauth.usersessions.urls")),
    path("settings/", include("tenant_apps.workspace_settings.urls")),
    path("projects/", include("tenant_apps.projects.urls")),
    path("notifications/", include("tenant_apps.notifications.urls")),
    path("live/", include("tenant_apps.live.urls")),
    path("activity/", include("tenant_apps.activity.urls")),
    path("start/", include("tenant_apps.onboarding.urls")),
    # The filesystem backend's signed downloads and direct uploads (404 with S3, where the bucket serves them).
    path("files/", include("shared_apps.storage.urls")),
    path("invitations/<str:token>/", invitation_views.invitation_on_workspace_host, name="invitation_on_host"),
    path("api/v1/", include(api_urls.v1)),
    path("api/", include(api_urls.urlpatterns)),
    # SCIM 2.0 provisioning for the workspace's identity provider (bearer token made in its settings).
    path("scim/", include("tenant_apps.scim.urls")),
    # The workspace's SAML service provider, for its identity provider to read
    path("sso/saml/metadata/", saml_views.workspace_metadata, name="sso_saml_metadata"),
]

# JSON in the API's error shape on /api/ paths, the site's error pages elsewhere.
handler400 = "shared_apps.core.api.handler400"
handler403 = "shared_apps.core.api.handler403"
handler404 = "shared_apps.core.api.handler404"
handler500 = "shared_apps.core.api.handler500"
# allauth answers its rate limits through this (ROOT_URLCONF.handler429); Atrium's own limits too.
handler429 = "shared_apps.web.views.too_many_requests"
